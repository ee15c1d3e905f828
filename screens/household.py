"""Household home screen: bills due with total, card balance, quick actions (off ones say why)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.lang import Builder
from kivy.uix.boxlayout import BoxLayout

from screens.base import KioskScreen
from screens.widgets import KButton, KLabel

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


class BillRow(BoxLayout):
    """One bill: label, due date, amount (layout in household.kv)."""


class HouseholdScreen(KioskScreen):
    def render(self, view: Any) -> None:
        bills = self.ids.bills
        bills.clear_widgets()
        for bill in view.bills:
            row = BillRow()
            row.ids.label.text, row.ids.due.text, row.ids.amount.text = bill.label, bill.due, bill.amount
            bills.add_widget(row)
        if view.bills_note:
            bills.add_widget(KLabel(text=view.bills_note))
        actions = self.ids.actions
        actions.clear_widgets()
        for action in view.actions:
            text = action.label if action.enabled else f"{action.label}\n({action.reason})"
            button = KButton(text=text, key=action.key, disabled=not action.enabled,
                             role="primary" if action.key == "pay_fees" and action.enabled else "plain")
            button.bind(on_release=lambda b: self.act("choose", b.key))
            actions.add_widget(button)
        self.ids.error.show(view.error, self.language)
