"""Attract screen: the jobs as tiles, where to tap the card and the sign-in, the rotating notice; out of hours a
closed panel with the hours, and only what still works."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

import screens.job_tiles  # noqa: F401 - JobTiles for the kv rule
import screens.scroll_hint  # noqa: F401 - HintedScroll for the kv rule
from screens.base import KioskScreen

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


class AttractNotice(BoxLayout):
    """The notice shown now, in a card of a fixed height; a longer one scrolls inside it (layout in attract.kv)."""

    title = StringProperty("")
    meta = StringProperty("")
    position = StringProperty("")  # "1 / 3"
    body = StringProperty("")
    shown = BooleanProperty(False)
    language = StringProperty("zh_Hans")  # of the "More below" band


class AttractScreen(KioskScreen):
    """Cycles notices on a slow timer that runs only while this screen is shown."""

    closed = BooleanProperty(False)  # out of hours: the closed panel, and the tiles of what still works
    sign_in = BooleanProperty(False)  # the reader's panel and the sign-in are offered
    _cycle: Any = None

    def on_enter(self, *_args: Any) -> None:
        from kivy.app import App

        period = App.get_running_app().ui.notice_cycle_s
        self._cycle = Clock.schedule_interval(lambda _dt: self.act("next_notice"), period)

    def on_leave(self, *_args: Any) -> None:
        if self._cycle is not None:
            self._cycle.cancel()
            self._cycle = None

    def on_kv_post(self, base_widget: Any) -> None:
        from kivy.app import App

        App.get_running_app().theme.bind(portrait=lambda *_: self.view is not None and self.render(self.view))

    def render(self, view: Any) -> None:
        # JobTiles rebuilds only when the tiles change (language, hours, switches): every notice rotation renders
        # this view again, and new tiles mean new text textures, which cost an idle kiosk ~0.5% of a core.
        from kivy.app import App

        self.closed = view.closed is not None
        self.sign_in = bool(view.sign_in_label)
        tiles = self.ids.tiles
        tiles.handler = lambda key: self.act("open_entry", key)
        jobs = view.entries
        if view.closed is not None:  # only what still works; in landscape small tiles beside the closed panel
            small = not App.get_running_app().theme.portrait
            jobs = [replace(e, main=False) if small else e for e in jobs if e.enabled]
        tiles.show(jobs)
        self.ids.error.show(view.error, self.language)
