"""Callback request screen: pick a topic, type a phone number on the keypad, get a reference."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.lang import Builder

from screens.base import KioskScreen
from screens.widgets import KButton

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


class CallbackScreen(KioskScreen):
    def render(self, view: Any) -> None:
        topics = self.ids.topics
        topics.clear_widgets()
        if view.step == "topic":
            for key, label, selected in view.topics:
                button = KButton(text=label, key=key, role="primary" if selected else "plain")
                button.bind(on_release=lambda b: self.act("choose_topic", b.key))
                topics.add_widget(button)
        keypad = self.ids.keypad
        keypad.handler = lambda key: self.act("key", key)
        keypad.language = self.language
        self.ids.error.show(view.error, self.language)
