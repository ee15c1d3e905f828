"""PaymentCodeScanner: one payment code per waiting payment, from any scan source (serial or HID).

- Armed only while a payment waits for a code (`arm()` / `disarm()`); a scan outside that window is read,
  discarded and logged (masked: a code is valid once and about a minute, never logged in full).
- `poll(timeout)` returns the first whole code of the first burst as a Scan (with its network), or an
  Unreadable (not only digits, wrong length or prefix: the resident is asked to scan again and the scanner
  stays armed), or None when nothing came.
- Two codes at once (a double read, or two phones held up): only the first is taken; the rest of that burst
  is discarded, and the scanner disarms itself with the code, so nothing reaches a payment that already has one.
- Any I/O failure of the source is DeviceUnavailable / DeviceTimeout: the DeviceSupervisor reopens it.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from kiosk.domain.payment_code import Network, masked, network_of, problem
from kiosk.errors import ScanUnreadable

log = logging.getLogger(__name__)


class ScanSource(Protocol):
    kind: str
    url: str

    def open(self) -> None: ...
    def close(self) -> None: ...
    def read_line(self, deadline: float) -> str | None: ...
    def discard_input(self) -> None: ...


@dataclass(frozen=True)
class Scan:
    code: str
    network: Network

    def __repr__(self) -> str:  # a code in a traceback or log line is masked too
        return f"Scan({masked(self.code)}, {self.network})"


@dataclass(frozen=True)
class Unreadable:
    reason: str  # for the log; the screen shows `error`

    @property
    def error(self) -> ScanUnreadable:
        return ScanUnreadable(self.reason)


class PaymentCodeScanner:
    """Implements the scanner device class; open()/close() so a DeviceSupervisor can run it."""

    def __init__(self, source: ScanSource, *, name: str = "scanner") -> None:
        self.source = source
        self.name = name
        self._armed = threading.Event()
        self.discarded = 0  # scans read while disarmed or dropped as a second code (for tests and health)

    @property
    def armed(self) -> bool:
        return self._armed.is_set()

    def open(self) -> None:
        self.source.open()
        self.source.discard_input()  # what was scanned while the port was closed belongs to no one

    def close(self) -> None:
        self.source.close()

    def arm(self) -> None:
        """A payment now waits for a code: what was scanned before is dropped (logged), scans from now on count.
        It reads the port: call it where the port is used (supervisor.submit(lambda s: s.arm()))."""
        self._drop_queued("scanned before the payment waited")
        self._armed.set()

    def disarm(self) -> None:
        self._armed.clear()

    def firmware_version(self) -> str:
        return f"{self.source.kind} scanner on {self.source.url}"

    def poll(self, timeout: float) -> Scan | Unreadable | None:
        deadline = time.monotonic() + max(0.0, timeout)
        first = self.source.read_line(deadline)
        if first is None:
            return None
        burst = [first]
        while (more := self.source.read_line(time.monotonic())) is not None:  # only what already arrived
            burst.append(more)
        if not self.armed:
            self._discard(burst, "no payment waits for a code")
            return None
        for i, line in enumerate(burst):
            network = network_of(line)
            if network is None:
                log.info("%s: scan refused (%s): %s", self.name, problem(line), masked(line))
                continue
            self.disarm()
            self._discard(burst[i + 1:], "a second code in the same scan")
            log.info("%s: %s payment code %s", self.name, network, masked(line))
            return Scan(line, network)
        return Unreadable(problem(burst[0]))

    def idle_check(self) -> None:
        """The supervisor's heartbeat: while no payment waits, read (and discard, logged) whatever was scanned,
        which also notices a scanner that was pulled out; while armed, leave the port to the payment's poll."""
        if not self.armed:
            self.poll(0)

    def _drop_queued(self, why: str) -> None:
        queued = []
        while (line := self.source.read_line(time.monotonic())) is not None:
            queued.append(line)
        self.source.discard_input()
        self._discard(queued, why)

    def _discard(self, lines: list[str], why: str) -> None:
        for line in lines:
            self.discarded += 1
            log.info("%s: scan discarded (%s): %s", self.name, why, masked(line))
