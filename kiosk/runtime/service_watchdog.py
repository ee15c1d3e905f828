"""The app's side of systemd's watchdog: READY=1 once usable, WATCHDOG=1 only while healthy, STOPPING=1 at the end.

`tick()` is called from the UI main loop (screens/service_watchdog.py schedules it every half WatchdogSec): a
frozen loop makes no ticks, so no pings. A tick also pings only while no started device worker is stuck in one job
past its limit (kiosk.runtime.worker). Either way systemd, after WatchdogSec without a ping, kills and restarts
the kiosk (Restart=always). STATUS= says what the kiosk is doing (systemctl status shows it).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from kiosk.runtime.sd_notify import Notifier
from kiosk.runtime.worker import live_workers

log = logging.getLogger(__name__)


def stuck_workers(workers: Iterable[Any] | None = None) -> list[tuple[str, float]]:
    """(name, seconds) of each worker stuck in one job past its limit."""
    found = []
    for worker in live_workers() if workers is None else workers:
        stuck = worker.stuck_for()
        if stuck:
            found.append((worker.name, stuck))
    return sorted(found)


class ServiceWatchdog:
    def __init__(self, notifier: Notifier, is_ready: Callable[[], bool],
                 stuck: Callable[[], list[tuple[str, float]]] = stuck_workers) -> None:
        self.notifier = notifier
        self.is_ready = is_ready  # the window is up and the runtime with its devices started
        self.stuck = stuck
        self.ready_sent = False
        self.pings = 0
        self.stopped = False
        self._status = ""

    def start(self) -> None:
        self._say("starting: window and devices")

    def check_ready(self) -> bool:
        """READY=1, once, as soon as the window is up and the runtime started. True once sent."""
        if not self.ready_sent and self.is_ready():
            self.ready_sent = True
            self._status = "serving residents"
            self.notifier.ready(self._status)
            log.info("told systemd READY=1")
        return self.ready_sent

    def tick(self) -> bool:
        """One turn of the main loop's watchdog timer (every half WatchdogSec). True when it pinged.

        Before READY (a start that waits for the estate database on the out-of-service page) a live loop extends
        systemd's start timeout by WatchdogSec at each tick instead: a frozen loop still gets the kiosk
        restarted, a waiting one is left to wait."""
        if not self.check_ready():
            if self.notifier.watchdog_usec:
                self.notifier.send(f"EXTEND_TIMEOUT_USEC={self.notifier.watchdog_usec}")
            return False
        stuck = self.stuck()
        if stuck:
            what = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in stuck)
            self._say(f"device worker stuck in one job ({what}): watchdog pings stopped")
            return False
        self._say("serving residents")
        if self.notifier.ping_interval_s <= 0:
            return False
        self.pings += 1
        return self.notifier.watchdog()

    def stopping(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        self.notifier.stopping("stopping: clean exit")
        self.notifier.close()

    def _say(self, status: str) -> None:
        if status != self._status:
            self._status = status
            if "stuck" in status:
                log.error("%s", status)
            self.notifier.status(status)
