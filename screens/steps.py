"""Generic step screen for the phase-2 journeys: options as buttons, detail lines, keypad, main button."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.lang import Builder

from screens.base import KioskScreen
from screens.pay_fees import _line
from screens.widgets import KButton

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


class StepsScreen(KioskScreen):
    def render(self, view: Any) -> None:
        options = self.ids.options
        options.clear_widgets()
        for option in view.options:
            text = option.label + (f"\n({option.reason})" if option.reason else "")
            button = KButton(text=text, key=option.key, disabled=not option.enabled,
                             role="primary" if option.selected else "plain")
            button.bind(on_release=lambda b: self.act("choose", b.key))
            options.add_widget(button)
        lines = self.ids.lines
        lines.clear_widgets()
        for label, value in view.lines:
            lines.add_widget(_line(label, value))
        self.ids.lines_scroll.scroll_y = 1  # new lines start at the top, whatever the previous step scrolled
        keypad = self.ids.keypad
        keypad.handler = lambda key: self.act("key", key)
        keypad.language = self.language
        keypad.allow_dash = bool(getattr(view, "keypad_dash", False))
        self.ids.error.show(view.error, self.language)
        self.ids.payment.handler = lambda accept: self.act("answer_overpay", accept)
        self.ids.payment.show(view.payment, self.language)
