"""Staff sign-in screen: PIN keypad, remaining attempts, lock-out message."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.lang import Builder

from screens.base import KioskScreen

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


class StaffUnlockScreen(KioskScreen):
    """An error (wrong PIN, locked) shows above the keypad in portrait, beside it over Sign in in landscape, where
    the keypad needs the page's height."""

    def on_kv_post(self, base_widget: Any) -> None:
        App.get_running_app().theme.bind(portrait=lambda *_: self.view is not None and self.render(self.view))

    def render(self, view: Any) -> None:
        keypad = self.ids.keypad
        keypad.handler = lambda key: self.act("key", key)
        keypad.language = self.language
        portrait = App.get_running_app().theme.portrait
        self.ids.error.show(view.error if portrait else None, self.language)
        self.ids.error_side.show(None if portrait else view.error, self.language)
