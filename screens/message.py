"""Message screen: out of service, out of hours, goodbye (title, reason, details, what still works)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.lang import Builder

from screens.base import KioskScreen
from screens.widgets import KButton, KLabel

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


class MessageScreen(KioskScreen):
    def render(self, view: Any) -> None:
        details, routes = self.ids.details, self.ids.routes
        details.clear_widgets()
        routes.clear_widgets()
        if view is None:
            return
        for line in view.detail:
            details.add_widget(KLabel(text=line, level="l", halign="center"))
        for route, label in view.still_available:
            button = KButton(text=label, key=route)
            button.bind(on_release=lambda b: self.act("open", b.key))
            routes.add_widget(button)
