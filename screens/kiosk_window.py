"""Kiosk window behaviour: Escape and close ignored outside staff mode; frame rate drops when nothing happens."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.clock import Clock
from kivy.core.window import Window

KEY_ESCAPE = 27


class WindowGuard:
    """Swallows Escape/back and window-close requests unless `staff_mode()` says staff are signed in."""

    def __init__(self, staff_mode: Callable[[], bool]) -> None:
        self.staff_mode = staff_mode
        Window.bind(on_keyboard=self._on_keyboard, on_request_close=self._on_request_close)

    def _on_keyboard(self, _window: Any, key: int, *_args: Any) -> bool:
        return key == KEY_ESCAPE and not self.staff_mode()  # True: handled, Kivy does not quit

    def _on_request_close(self, *_args: Any, **_kwargs: Any) -> bool:
        return not self.staff_mode()


class FrameRateGovernor:
    """Runs at `max_fps` while the user interacts, then at `idle_fps`, so an idle kiosk costs ~no CPU.

    Kivy only redraws when a canvas changed; what costs CPU when idle is waking up for every frame
    (60 per second by default). The interrupt clock (KIVY_CLOCK=interrupt) still wakes at once for
    work posted from other threads and for scheduled events, and `screens.input_wake` wakes it for
    input on X11, so there idle frames only guard against a missed wake-up.
    """

    def __init__(self, max_fps: int, idle_fps: int, active_window_s: float) -> None:
        self.max_fps, self.idle_fps, self.window_s = max_fps, idle_fps, active_window_s
        self._calm = Clock.create_trigger(self._go_idle, active_window_s)
        Window.bind(on_touch_down=self.wake, on_touch_move=self.wake, on_key_down=self.wake)
        self.wake()

    def wake(self, *_args: Any) -> bool:
        Clock._max_fps = float(self.max_fps)  # Kivy reads it each frame (kivy/clock.py)
        self._calm.cancel()
        self._calm()
        return False  # never consume the event

    def _go_idle(self, _dt: float) -> None:
        Clock._max_fps = float(self.idle_fps)

    @property
    def current_fps(self) -> float:
        return float(Clock._max_fps)
