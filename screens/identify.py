"""Identify screen: tap-card pictogram and prompt, unit number and PIN keypad, refusal with reason and what to do."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.lang import Builder
from kivy.properties import BooleanProperty, StringProperty

import screens.job_tiles  # noqa: F401 - icon names for the kv rule
from screens.base import KioskScreen
from screens.widgets import Keypad

Builder.load_file(str(Path(__file__).with_suffix(".kv")))

STEP_ICONS = {"choose": "card_reader", "unit": "unit", "pin": "pin", "checking": "checking", "refused": "refused"}


class SignInKeypad(Keypad):
    """The sign-in keypad: digits in the theme's title size (the keys' size comes from identify.kv)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        App.get_running_app().theme.bind(font_m=self._fonts, font_xl=self._fonts)

    def rebuild(self) -> None:
        super().rebuild()
        self._fonts()

    def _fonts(self, *_args: Any) -> None:
        theme = App.get_running_app().theme
        for key in self.children:
            key.font_size = theme.font_xl if key.key.isdigit() or key.key == "-" else theme.font_l


class IdentifyScreen(KioskScreen):
    choosing = BooleanProperty(True)  # no keypad yet: the big button that opens it stands in its place
    step_icon = StringProperty("card_reader")

    def render(self, view: Any) -> None:
        if view.step != "checking":  # while checking, whatever was there stays (disabled)
            self.choosing = view.step in ("choose", "refused")
        self.step_icon = STEP_ICONS.get(str(view.step), "card_reader")
        keypad = self.ids.keypad
        keypad.handler = lambda key: self.act("key", key)
        keypad.allow_dash = view.step == "unit"
        keypad.language = self.language
        self.ids.error.show(view.error, self.language)
