"""A small stand-in for systemd (PID 1 is not systemd here): runs one service as systemd 252 (Debian 12) runs a
unit with Type=notify, Restart=always, RestartSec, WatchdogSec, TimeoutStartSec, StartLimitIntervalSec/Burst and
OnFailure=, with the values read from the unit file `kiosk install --root` writes. Kivy-free; tests only.

What it does, as systemd does it:
- the command runs in a process group of its own (the unit's cgroup) with $NOTIFY_SOCKET naming a datagram socket
  of ours and $WATCHDOG_USEC = WatchdogSec;
- READY=1 ends the start; until then only TimeoutStartSec (extended by EXTEND_TIMEOUT_USEC) applies;
- after READY=1, no WATCHDOG=1 for WatchdogSec: SIGABRT to the group (WatchdogSignal), SIGKILL after
  TimeoutAbortSec (= TimeoutStopSec when not set); a start timeout is SIGTERM, then SIGKILL;
- whatever way the main process ends, the rest of the group is killed and, RestartSec later, it starts again;
- a start when StartLimitBurst starts already happened within StartLimitIntervalSec is refused: the unit fails
  (start-limit-hit) and the OnFailure= unit's command runs instead, once.
`scale` multiplies WatchdogSec, RestartSec and TimeoutAbortSec so a test need not wait 30 s; the start limit
(burst and interval) and TimeoutStartSec are used as shipped.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

_UNITS = {"": 1.0, "s": 1.0, "sec": 1.0, "ms": 0.001, "min": 60.0, "m": 60.0, "h": 3600.0}


def seconds(text: str) -> float:
    """systemd's time spans as the units use them: '30', '2s', '10min', '1min 30s'."""
    parts = re.findall(r"([\d.]+)\s*([a-z]*)", text.strip())
    return sum(float(n) * _UNITS[u] for n, u in parts)


def read_unit(path: Path) -> dict[str, str]:
    """Key -> value of a unit file (the last one wins, as for the keys used here)."""
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            out[key.strip()] = value.strip()
    return out


def exec_start_after_cage(unit: dict[str, str]) -> list[str]:
    """ExecStart= without the compositor: what cage would run (`cage -d -- PYTHON -m kiosk run`)."""
    words = unit["ExecStart"].split()
    return words[words.index("--") + 1:] if "--" in words else words


@dataclass
class UnitSupervisor:
    unit: dict[str, str]
    command: list[str]
    env: dict[str, str]
    on_failure: Callable[[], None]
    socket_path: Path
    scale: float = 1.0
    events: list[tuple[float, str]] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        u = self.unit
        self.watchdog_s = seconds(u["WatchdogSec"]) * self.scale
        self.restart_s = seconds(u.get("RestartSec", "0.1")) * self.scale
        self.abort_s = seconds(u.get("TimeoutAbortSec", u.get("TimeoutStopSec", "90"))) * self.scale
        self.start_timeout_s = seconds(u.get("TimeoutStartSec", "90"))
        self.interval_s = seconds(u["StartLimitIntervalSec"])
        self.burst = int(u["StartLimitBurst"])
        assert u["Type"] == "notify" and u["Restart"] == "always", u
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.socket_path))
        self.sock.settimeout(0.05)
        self.starts: deque[float] = deque()
        self.failed = False
        self._stop = False

    def note(self, what: str) -> None:
        self.events.append((time.monotonic(), what))

    def said(self, what: str) -> list[float]:
        return [at for at, w in self.events if w == what]

    def run(self, deadline_s: float) -> None:
        """Start, supervise and restart until the unit fails, `stop()` is called or `deadline_s` passes."""
        end = time.monotonic() + deadline_s
        while not self._stop and time.monotonic() < end:
            now = time.monotonic()
            while self.starts and now - self.starts[0] > self.interval_s:
                self.starts.popleft()
            if len(self.starts) >= self.burst:
                self.failed = True
                self.note("start-limit-hit")
                self.on_failure()
                return
            self.starts.append(now)
            self._run_once(end)
            if not self._stop:
                time.sleep(self.restart_s)
        self.sock.close()

    def stop(self) -> None:
        self._stop = True

    def _run_once(self, end: float) -> None:
        env = dict(self.env, NOTIFY_SOCKET=str(self.socket_path), WATCHDOG_USEC=str(int(self.watchdog_s * 1e6)))
        self.proc = proc = subprocess.Popen(self.command, env=env, start_new_session=True,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.note(f"started {proc.pid}")
        start_deadline, ready, ping_deadline, kill_at = time.monotonic() + self.start_timeout_s, False, 0.0, 0.0
        while proc.poll() is None:
            now = time.monotonic()
            if kill_at and now >= kill_at:
                self._signal(proc, signal.SIGKILL)
                kill_at = float("inf")
            elif not kill_at and (self._stop or now >= end):
                self._signal(proc, signal.SIGTERM)
                kill_at = now + self.abort_s
            elif not kill_at and not ready and now >= start_deadline:
                self.note("start timeout")
                self._signal(proc, signal.SIGTERM)
                kill_at = now + self.abort_s
            elif not kill_at and ready and now >= ping_deadline:
                self.note("watchdog timeout")  # systemd: "Watchdog timeout (limit 30s)!"
                self._signal(proc, signal.SIGABRT)
                kill_at = now + self.abort_s
            try:
                message = self.sock.recv(4096).decode()
            except socket.timeout:
                continue
            for line in message.splitlines():
                if line == "READY=1" and not ready:
                    ready, ping_deadline = True, time.monotonic() + self.watchdog_s
                    self.note("READY=1")
                elif line == "WATCHDOG=1" and ready:
                    ping_deadline = time.monotonic() + self.watchdog_s
                    self.note("WATCHDOG=1")
                elif line.startswith("EXTEND_TIMEOUT_USEC=") and not ready:
                    start_deadline = max(start_deadline, time.monotonic() + int(line.split("=")[1]) / 1e6)
        self._signal(proc, signal.SIGKILL)  # what is left of the group (KillMode=control-group)
        self.note(f"exited {proc.returncode}")

    @staticmethod
    def _signal(proc: subprocess.Popen[bytes], sig: int) -> None:
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
