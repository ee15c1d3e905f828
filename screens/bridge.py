"""UiBridge: the one way work from other threads (service calls, device events) reaches the Kivy thread."""
from __future__ import annotations

import inspect
import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class UiBridge:
    """`post(fn)` from any thread; `fn` runs on the Kivy clock, in order, before the next frame is drawn (Kivy's
    timeout -1: also when it was posted while this frame's input was handled, so a service answer that arrived
    meanwhile is on screen in the same frame as the touch that asked for it)."""

    def __init__(self, schedule: Callable[[Callable[[float], None], float], Any] | None = None) -> None:
        if schedule is None:
            from kivy.clock import Clock

            schedule = Clock.schedule_once
        self._schedule = schedule
        self._queue: deque[Callable[[], None]] = deque()
        self._lock = threading.Lock()
        self._scheduled = False
        self._handlers: list[Callable[[Any], None]] = []

    @property
    def pending(self) -> bool:
        """Posted work waits for the next drain."""
        with self._lock:
            return bool(self._queue)

    def post(self, fn: Callable[[], None]) -> None:
        with self._lock:
            self._queue.append(fn)
            if self._scheduled:
                return
            self._scheduled = True
        self._schedule(self._drain, -1)

    def _drain(self, _dt: float = 0.0) -> None:
        with self._lock:
            jobs, self._queue = list(self._queue), deque()
            self._scheduled = False
        for job in jobs:
            try:
                job()
            except Exception as exc:  # noqa: BLE001 - handed to Kivy's ExceptionManager right here
                # as Kivy's main loop would (the last-resort handler shows out of service with a reference), but
                # without leaving the frame's before-draw pass: the page it shows is laid out and drawn in this
                # frame, and the rest of this work still runs
                from kivy.base import ExceptionManager

                if ExceptionManager.handle_exception(exc) == ExceptionManager.RAISE:
                    raise

    # --- device events --------------------------------------------------------------------------
    def on_event(self, handler: Callable[[Any], None]) -> None:
        """Register a UI-thread handler for events published by device workers."""
        self._handlers.append(handler)

    def publish(self, event: Any) -> None:
        """Called by an event bus from its own thread; handlers run on the UI thread."""
        self.post(lambda: [handler(event) for handler in list(self._handlers)] and None)

    def attach(self, event_bus: Any) -> None:
        """Subscribe to the devices' event bus: `subscribe(event_type, callback)` (kiosk.runtime.events,
        all events via `object`) or a plain `subscribe(callback)`."""
        if event_bus is None:
            return
        try:
            params = inspect.signature(event_bus.subscribe).parameters
        except (TypeError, ValueError):
            params = {}
        if len(params) >= 2:
            event_bus.subscribe(object, self.publish)
        else:
            event_bus.subscribe(self.publish)
