"""Household home screen: the jobs as tiles (off ones say why), the bills due with the total in large figures, card
balance and account credit; "More below" when the bill list scrolls."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.lang import Builder
from kivy.properties import BooleanProperty
from kivy.uix.boxlayout import BoxLayout

import screens.job_tiles  # noqa: F401 - JobTiles for the kv rule
import screens.scroll_hint  # noqa: F401 - HintedScroll for the kv rule
from screens.base import KioskScreen
from screens.widgets import KLabel

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


class BillRow(BoxLayout):
    """One bill: label, due date, amount (layout in household.kv)."""


class HouseholdScreen(KioskScreen):
    stacked = BooleanProperty(True)  # the bills under the tiles (portrait, large text), else beside them

    def render(self, view: Any) -> None:
        bills = self.ids.bills
        bills.clear_widgets()
        for bill in view.bills:
            row = BillRow()
            row.ids.label.text, row.ids.due.text, row.ids.amount.text = bill.label, bill.due, bill.amount
            bills.add_widget(row)
        if view.bills_note:
            bills.add_widget(KLabel(text=view.bills_note))
        tiles = self.ids.tiles
        tiles.handler = self._tapped
        tiles.show(view.actions, extras=(("finish", self.tr("Done")),))
        self.ids.error.show(view.error, self.language)

    def _tapped(self, key: str) -> None:
        if key == "finish":
            self.act("finish")
        else:
            self.act("choose", key)
