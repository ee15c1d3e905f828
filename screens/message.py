"""Message screen: out of service, out of hours, goodbye. A pictogram, the title and reason; out of hours also when
the service opens again (large), the week's hours and what still works as icon tiles; an error's reference boxed."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.lang import Builder
from kivy.properties import BooleanProperty, ColorProperty
from kivy.uix.boxlayout import BoxLayout

from screens.base import KioskScreen
from screens.job_tiles import icon_name
from screens.scroll_hint import HintedScroll
from screens.widgets import IconTile, KLabel


class MessageBox(BoxLayout):
    """A boxed part of the page (when it opens again, the hours, a reference); `shown` False takes no room."""

    shown = BooleanProperty(True)
    fill = ColorProperty((1, 1, 1, 1))


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
__all__ = ["HintedScroll", "MessageBox", "MessageScreen"]



class MessageScreen(KioskScreen):
    def on_kv_post(self, base_widget: Any) -> None:
        App.get_running_app().theme.bind(portrait=lambda *_: self._columns())
        self._columns()

    def _columns(self) -> None:
        self.ids.routes.cols = 2

    def render(self, view: Any) -> None:
        details, hours, routes = self.ids.details, self.ids.hours, self.ids.routes
        details.clear_widgets()
        hours.clear_widgets()
        routes.clear_widgets()
        if view is None:
            return
        structured = bool(getattr(view, "hours", ()) or getattr(view, "headline", ""))
        for line in () if structured else view.detail:  # an older view: every line as it comes
            details.add_widget(KLabel(text=line, level="l", halign="center"))
        for line in getattr(view, "hours", ()):
            hours.add_widget(KLabel(text=line, level="l", halign="center"))
        for route, label in view.still_available:
            tile = IconTile(icon=icon_name(route), text=label, key=route)
            tile.bind(on_release=lambda t: self.act("open", t.key))
            routes.add_widget(tile)
        self._columns()
