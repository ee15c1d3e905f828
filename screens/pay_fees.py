"""Pay fees screen: choose bills and method, confirmation restating items/total/method, progress, result."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.lang import Builder
from kivy.uix.boxlayout import BoxLayout

from screens.base import KioskScreen
from screens.widgets import KButton

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


class LineRow(BoxLayout):
    """Label and amount on one line (layout in pay_fees.kv)."""


def _line(label: str, amount: str) -> LineRow:
    """A label/amount row; an empty label makes the value a note across the whole line."""
    row = LineRow()
    row.ids.label.text, row.ids.amount.text = label, amount
    if not label:
        row.ids.label.size_hint_x, row.ids.amount.size_hint_x = 0.0, 1.0
        row.ids.amount.halign = "left"
    return row


class PayFeesScreen(KioskScreen):
    def render(self, view: Any) -> None:
        step = view.step
        items = self.ids.item_list
        items.clear_widgets()
        if step == "choose":
            for bill in view.bills:
                mark = "[x]" if bill.selected else "[  ]"
                button = KButton(text=f"{mark}  {bill.label}    {bill.amount}", key=bill.bill_id,
                                 role="primary" if bill.selected else "plain", halign="left")
                button.bind(on_release=lambda b: self.act("toggle", b.key))
                items.add_widget(button)
        elif step in ("confirm", "paying", "uncertain"):
            for label, amount in view.confirm_lines:
                items.add_widget(_line(label, amount))
        elif step == "done":
            for label, value in view.result_lines:
                items.add_widget(_line(label, value))
        methods = self.ids.methods
        methods.clear_widgets()
        if step == "choose":
            for method in view.methods:
                mark = "(●)" if method.selected else "(  )"
                text = f"{mark} {method.label}" + (f"\n{method.reason}" if method.reason else "")
                button = KButton(text=text, key=method.method, disabled=not method.enabled,
                                 role="primary" if method.selected else "plain")
                button.bind(on_release=lambda b: self.act("choose_method", b.key))
                methods.add_widget(button)
        self.ids.error.show(view.error, self.language)
        self.ids.payment.handler = lambda accept: self.act("answer_overpay", accept)
        self.ids.payment.show(view.payment, self.language)
