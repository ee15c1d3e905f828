"""Maintenance screen: device health, out-of-service switch, daily settlement, lock, exit to desktop."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.lang import Builder

from screens.base import KioskScreen
from screens.pay_fees import LineRow

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


def _row(left: str, right: str) -> LineRow:
    row = LineRow()
    row.ids.label.text, row.ids.amount.text = left, right
    return row


class StaffHomeScreen(KioskScreen):
    def render(self, view: Any) -> None:
        devices = self.ids.devices
        devices.clear_widgets()
        for name, state, detail in view.devices:
            devices.add_widget(_row(name, f"{state} {detail}".strip()))
        settlement = self.ids.settlement
        settlement.clear_widgets()
        for label, value in view.settlement_lines:
            settlement.add_widget(_row(label, value))
        self.ids.error.show(view.error, self.language)
