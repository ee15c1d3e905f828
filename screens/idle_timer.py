"""Idle timer and warning popup: one scheduled timer per phase change, no polling while nothing happens."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from kivy.clock import Clock
from kivy.core.window import Window
from kivy.properties import StringProperty
from kivy.uix.modalview import ModalView

from kiosk.flows.idle import IdlePhase, IdlePolicy, IdleTracker
from kiosk.i18n import N_, translate


class IdleWarning(ModalView):
    """'Are you still there?' with a countdown and one big Continue button (layout in app.kv)."""

    title = StringProperty("")
    countdown = StringProperty("")
    continue_label = StringProperty("")
    end_label = StringProperty("")


class IdleController:
    """Watches touches; shows the warning after the timeout and ends the session when it runs out."""

    def __init__(self, policy: IdlePolicy, applies: Callable[[], bool], is_staff: Callable[[], bool],
                 language: Callable[[], str], on_expire: Callable[[], None]) -> None:
        self.tracker = IdleTracker(policy, time.monotonic())
        self.applies, self.is_staff, self.language, self.on_expire = applies, is_staff, language, on_expire
        self.popup: IdleWarning | None = None
        self._event: Any = None
        self._tick: Any = None
        Window.bind(on_touch_down=self._on_touch, on_key_down=self._on_touch)

    def _on_touch(self, *_args: Any) -> bool:
        self.touch()
        return False

    def touch(self) -> None:
        if self.popup is not None and self.popup.parent is not None:
            return  # the popup's own button decides
        self.tracker.touch(time.monotonic())
        self.reschedule()

    def reschedule(self) -> None:
        if self._event is not None:
            self._event.cancel()
            self._event = None
        if not self.applies():
            self._close_popup()
            return
        self.tracker.staff = self.is_staff()
        self._event = Clock.schedule_once(self._check, self.tracker.next_change(time.monotonic()) + 0.01)

    def age(self, seconds: float) -> None:
        """Pretend the last touch was `seconds` earlier (test hook; the real timer is untouched)."""
        self.tracker.last_touch -= seconds
        self._check(0)

    def _check(self, _dt: float) -> None:
        self._event = None
        if not self.applies():
            return
        phase = self.tracker.phase(time.monotonic())
        if phase is IdlePhase.ACTIVE:
            self.reschedule()
        elif phase is IdlePhase.WARNING:
            self._show_popup()
            self._event = Clock.schedule_once(self._check, self.tracker.next_change(time.monotonic()) + 0.01)
        else:
            self._close_popup()
            self.on_expire()

    def _show_popup(self) -> None:
        language = self.language()
        if self.popup is None:
            self.popup = IdleWarning()
        self.popup.title = translate(N_("Are you still there?"), language)
        self.popup.continue_label = translate(N_("Continue"), language)
        self.popup.end_label = translate(N_("Finish"), language)
        self.popup.controller = self  # type: ignore[attr-defined]
        self._update_countdown(0)
        if self.popup.parent is None:
            self.popup.open(animation=False)
        if self._tick is None:
            self._tick = Clock.schedule_interval(self._update_countdown, 1.0)  # only while the warning shows

    def _update_countdown(self, _dt: float) -> None:
        if self.popup is not None:
            left = int(self.tracker.seconds_left(time.monotonic()) + 0.99)
            self.popup.countdown = translate(N_("For your privacy this session ends in {seconds} s."),
                                             self.language(), seconds=left)

    def _close_popup(self) -> None:
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None
        if self.popup is not None and self.popup.parent is not None:
            self.popup.dismiss(animation=False)

    def keep_going(self) -> None:
        self._close_popup()
        self.tracker.touch(time.monotonic())
        self.reschedule()

    def finish_now(self) -> None:
        self._close_popup()
        self.on_expire()

    @property
    def warning_visible(self) -> bool:
        return self.popup is not None and self.popup.parent is not None
