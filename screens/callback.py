"""Callback request screen: pick a topic (large icon tiles), type a phone number on the keypad, get a reference."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.lang import Builder

from screens.base import KioskScreen
from screens.scroll_hint import HintedScroll
from screens.widgets import IconTile

Builder.load_file(str(Path(__file__).with_suffix(".kv")))
__all__ = ["CallbackScreen", "HintedScroll"]

# topic msgid (kiosk.flows.public_info.CALLBACK_TOPICS) -> Material Design icon name
TOPIC_ICONS = {"Fees and bills": "cash-multiple", "Repairs": "wrench", "Cards": "credit-card", "Parking": "parking",
               "Other": "help-circle"}


class CallbackScreen(KioskScreen):
    def on_kv_post(self, base_widget: Any) -> None:
        App.get_running_app().theme.bind(portrait=lambda *_: self._columns())
        self._columns()

    def _columns(self) -> None:
        self.ids.topics.cols = 2 if App.get_running_app().theme.portrait else 3

    def render(self, view: Any) -> None:
        topics = self.ids.topics
        topics.clear_widgets()
        if view.step == "topic":
            for key, label, selected in view.topics:
                tile = IconTile(icon=TOPIC_ICONS.get(key, "help-circle"), text=label, key=key,
                                role="primary" if selected else "plain")
                tile.bind(on_release=lambda t: self.act("choose_topic", t.key))
                topics.add_widget(tile)
        keypad = self.ids.keypad
        keypad.handler = lambda key: self.act("key", key)
        keypad.language = self.language
        self.ids.error.show(view.error, self.language)
