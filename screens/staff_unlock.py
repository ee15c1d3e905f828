"""Staff sign-in screen: PIN keypad, remaining attempts, lock-out message."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.lang import Builder

from screens.base import KioskScreen

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


class StaffUnlockScreen(KioskScreen):
    def render(self, view: Any) -> None:
        keypad = self.ids.keypad
        keypad.handler = lambda key: self.act("key", key)
        keypad.language = self.language
        self.ids.error.show(view.error, self.language)
