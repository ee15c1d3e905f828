"""Is this machine's clock synchronised? Receipts, service hours and invoices carry its time.

`check_clock()` asks `timedatectl show` (systemd-timesyncd or any NTP client that sets the kernel's synchronised
flag) and, where that cannot answer, `chronyc tracking`; neither available gives "unknown", which is not an
error (a test box, a container). `ClockWatch` checks at start and every hour, logs a warning when not
synchronised, and keeps the last answer for `latest()`: the heartbeat and `kiosk doctor` read that.
"""
from __future__ import annotations

import logging
import shutil
import subprocess
import threading
from dataclasses import dataclass
from datetime import datetime, timezone

log = logging.getLogger(__name__)

SYNCHRONISED = "synchronised"
NOT_SYNCHRONISED = "not synchronised"
UNKNOWN = "unknown"
CHECK_EVERY_S = 3600.0
_TIMEOUT_S = 5


@dataclass(frozen=True)
class ClockSync:
    state: str  # SYNCHRONISED, NOT_SYNCHRONISED or UNKNOWN
    source: str  # "timedatectl", "chronyc" or "" (nothing could say)
    detail: str  # the tool's own words, short
    checked_at: datetime  # UTC, the machine's clock

    @property
    def synchronised(self) -> bool | None:
        return None if self.state == UNKNOWN else self.state == SYNCHRONISED

    def summary(self) -> str:
        """One short line, e.g. "synchronised (timedatectl)": what the heartbeat carries (80 characters at most)."""
        return (f"{self.state} ({self.source})" if self.source else self.state)[:80]


def parse_timedatectl(text: str) -> tuple[str, str] | None:
    """(state, detail) from `timedatectl show`; None when it says nothing about NTP."""
    values = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    if "NTPSynchronized" not in values:
        return None
    synced = values["NTPSynchronized"] == "yes"
    detail = f"NTPSynchronized={values['NTPSynchronized']}, NTP={values.get('NTP', '?')}"
    return (SYNCHRONISED if synced else NOT_SYNCHRONISED), detail


def parse_chrony_tracking(text: str) -> tuple[str, str] | None:
    """(state, detail) from `chronyc tracking`; None when it is not its output."""
    values = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in text.splitlines()) if v}
    leap = values.get("Leap status")
    if leap is None:
        return None
    synced = leap != "Not synchronised" and not values.get("Reference ID", "").startswith("00000000")
    detail = f"Leap status {leap}" + (f", {values['System time']}" if "System time" in values else "")
    return (SYNCHRONISED if synced else NOT_SYNCHRONISED), detail


def _ask(command: list[str]) -> tuple[str, str]:
    """(stdout, why not) of a command; why not is "" when it answered."""
    if shutil.which(command[0]) is None:
        return "", f"{command[0]} not installed"
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return "", f"{command[0]}: {exc}"
    if done.returncode != 0:
        words = (done.stderr or done.stdout).strip().splitlines()
        return "", f"{command[0]}: {words[0] if words else f'exit {done.returncode}'}"
    return done.stdout, ""


def check_clock() -> ClockSync:
    now = datetime.now(timezone.utc)
    reasons = []
    for source, command, parse in (("timedatectl", ["timedatectl", "show"], parse_timedatectl),
                                   ("chronyc", ["chronyc", "tracking"], parse_chrony_tracking)):
        out, why_not = _ask(command)
        found = parse(out) if out else None
        if found is not None:
            return ClockSync(found[0], source, found[1], now)
        reasons.append(why_not or f"{source}: no synchronisation state in its answer")
    return ClockSync(UNKNOWN, "", "; ".join(reasons), now)


_latest: ClockSync | None = None


def latest() -> ClockSync:
    """The last hourly answer in this process, or a fresh check when there is none yet."""
    return _latest if _latest is not None else check_clock()


class ClockWatch:
    """Checks at start and every CHECK_EVERY_S on a thread of its own; a warning each time it is not synchronised."""

    def __init__(self, every_s: float = CHECK_EVERY_S) -> None:
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="clock-sync", daemon=True)

    def start(self) -> ClockWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        global _latest
        while True:
            found = check_clock()
            _latest = found
            if found.state == NOT_SYNCHRONISED:
                log.warning("the clock is not synchronised (%s: %s): receipts and service hours use it; "
                            "check the NTP client (docs/deploy.md)", found.source, found.detail)
            if self._stop.wait(self.every_s):
                return
