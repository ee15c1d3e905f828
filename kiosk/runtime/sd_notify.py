"""systemd's service notification protocol (sd_notify(3)), the few lines of it the kiosk needs, without Kivy.

One datagram per message on the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or "@name" for the abstract
namespace), newline-separated KEY=VALUE lines: READY=1, WATCHDOG=1, STOPPING=1, STATUS=... Why not a library:
`sdnotify` (PyPI) is these same lines, unchanged since 2017 and silent about every error; `systemd-python` needs
libsystemd's headers to build. Without $NOTIFY_SOCKET (not started by systemd) every call does nothing.

$WATCHDOG_USEC is systemd's WatchdogSec; pings go every half of it. $WATCHDOG_PID is not honoured: systemd sets it
to the main process, which in the kiosk session is cage, and the app (cage's child) pings (NotifyAccess=all).
"""
from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, address: str | None = None, watchdog_usec: int | None = None) -> None:
        env_address = os.environ.get("NOTIFY_SOCKET", "")
        raw = env_address if address is None else address
        self.address: str | bytes | None = None
        if raw:
            self.address = "\0" + raw[1:] if raw.startswith("@") else raw
        usec = watchdog_usec if watchdog_usec is not None else _int(os.environ.get("WATCHDOG_USEC", ""))
        self.watchdog_usec = usec if usec and usec > 0 else 0
        self._socket: socket.socket | None = None
        self._failed = False

    @property
    def enabled(self) -> bool:
        return self.address is not None

    @property
    def ping_interval_s(self) -> float:
        """Half of WatchdogSec; 0 when systemd watches nothing."""
        return self.watchdog_usec / 2_000_000

    def send(self, *lines: str) -> bool:
        """One datagram; False (logged once) when it could not be sent. Never raises: a kiosk does not stop
        serving because its service manager is gone."""
        if self.address is None:
            return False
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._socket.sendto("\n".join(lines).encode("utf-8"), self.address)
        except OSError as exc:
            if not self._failed:
                log.warning("systemd notification to %s failed: %s", os.environ.get("NOTIFY_SOCKET"), exc)
            self._failed = True
            return False
        self._failed = False
        return True

    def ready(self, status: str) -> bool:
        return self.send("READY=1", f"STATUS={status}")

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def status(self, status: str) -> bool:
        return self.send(f"STATUS={status}")

    def stopping(self, status: str = "stopping") -> bool:
        return self.send("STOPPING=1", f"STATUS={status}")

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0
