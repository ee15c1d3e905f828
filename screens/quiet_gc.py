"""Garbage collection out of the resident's way.

Python's full (generation 2) collections walk every object the process holds. The kiosk holds about a million
(Kivy, SQLAlchemy, fonts, the runtime), and a full collection holds the GIL for 100 to 450 ms on a busy 2-core
machine: a tap that lands in one waits for it. So, at quiet moments only (the runtime just ready, behind the attract
page; the attract page untouched for `settle_after_s` after a session ended), everything unreachable is collected
once and everything left is frozen (`gc.freeze()`): later collections walk only what was made since, a few
milliseconds. Frozen objects are never collected, which is why a collection comes first.
"""
from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class QuietCollector:
    """`settle()` collects and freezes now; `arm()` asks for that once the kiosk has been left alone for
    `settle_after_s` (`quiet()` says whether it still is: no touch, on a page nobody is using)."""

    def __init__(self, schedule: Callable[[Callable[[float], None], float], Any], quiet: Callable[[], bool],
                 settle_after_s: float = 5.0) -> None:
        self._schedule, self._quiet, self.settle_after_s = schedule, quiet, settle_after_s
        self._armed = False
        self.settled = 0  # how many times (tests, logs)

    def settle(self) -> None:
        started = time.perf_counter()
        collected = gc.collect()
        gc.freeze()
        self.settled += 1
        log.info("collected %d objects and froze %d in %.0f ms", collected, gc.get_freeze_count(),
                 1000 * (time.perf_counter() - started))

    def arm(self) -> None:
        if not self._armed:
            self._armed = True
            self._schedule(self._when_quiet, self.settle_after_s)

    def _when_quiet(self, _dt: float) -> None:
        self._armed = False
        if self._quiet():
            self.settle()
