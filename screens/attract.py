"""Attract screen: greeting, cycling notice card, tap-card prompt, public entries, sign-in button."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.clock import Clock
from kivy.lang import Builder

from screens.base import KioskScreen
from screens.widgets import KButton

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


class AttractScreen(KioskScreen):
    """Cycles notices on a slow timer that runs only while this screen is shown."""

    _cycle: Any = None
    _entries_shown: tuple[Any, ...] | None = None

    def on_enter(self, *_args: Any) -> None:
        from kivy.app import App

        period = App.get_running_app().ui.notice_cycle_s
        self._cycle = Clock.schedule_interval(lambda _dt: self.act("next_notice"), period)

    def on_leave(self, *_args: Any) -> None:
        if self._cycle is not None:
            self._cycle.cancel()
            self._cycle = None

    def render(self, view: Any) -> None:
        # The buttons are rebuilt only when they change (language, hours): every notice rotation renders
        # this view again, and new buttons mean new text textures, which cost an idle kiosk ~0.5% of a core.
        if view.entries != self._entries_shown:
            self._entries_shown = view.entries
            box = self.ids.entries
            box.clear_widgets()
            for entry in view.entries:
                button = KButton(text=entry.label, disabled=not entry.enabled, key=entry.key)
                button.bind(on_release=lambda b: self.act("open_entry", b.key))
                box.add_widget(button)
        self.ids.error.show(view.error, self.language)
