"""Pay fees screen: choose bills and method, confirmation restating items/total/method, progress, result.

Every step shows where it stands in the journey (choose -> confirm -> pay -> done). A bill row shows its tick
as a large filled check box on a tinted row with a heavier border (visible from a step back, never colour
alone); while money moves the PaymentPanel (amounts, the device's pictogram) takes the page; the done step
shows the printer slot while the receipt prints.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout

import screens.pictograms  # noqa: F401 - the pictogram rules, used by the PaymentPanel
from screens.scroll_hint import HintedScroll
from kiosk.i18n import N_, translate
from screens.base import KioskScreen
from screens.widgets import KLabel

Builder.load_file(str(Path(__file__).with_suffix(".kv")))

__all__ = ["HintedScroll", "PayFeesScreen"]  # HintedScroll: the bill list in pay_fees.kv
JOURNEY = (("choose", N_("Choose bills")), ("confirm", N_("Confirm")), ("paying", N_("Pay")), ("done", N_("Done")))
STEP_INDEX = {"loading": 0, "choose": 0, "confirm": 1, "paying": 2, "uncertain": 2, "failed": 2, "done": 3}


class LineRow(BoxLayout):
    """Label and amount on one line (layout in pay_fees.kv)."""


class PayBillRow(ButtonBehavior, BoxLayout):
    """One bill: a large check box, what it is, the amount; a ticked row is tinted and framed heavier."""

    key = StringProperty("")
    text = StringProperty("")
    amount = StringProperty("")
    selected = BooleanProperty(False)


class PayMethodRow(ButtonBehavior, BoxLayout):
    """One way to pay: a radio mark, the method and, when it cannot be used, why."""

    key = StringProperty("")
    text = StringProperty("")
    reason = StringProperty("")
    selected = BooleanProperty(False)


class PayStepMark(BoxLayout):
    """One step of the journey: its number (a check once done), its name; the current one is filled. In landscape
    only the current step is named, so the marks share the title's row."""

    number = NumericProperty(1)
    caption = StringProperty("")
    state = StringProperty("todo")  # "done", "now", "todo"


def _line(label: str, amount: str) -> Any:
    """A label/amount row; an empty label makes the value a note across the whole line (its own wrapping label:
    a row with a zero-width label still drew the note from its old column, past the page's right edge)."""
    if not label:
        return KLabel(text=amount)
    row = LineRow()
    row.ids.label.text, row.ids.amount.text = label, amount
    return row


ROUTE_ROWS = "qr-route:"  # kiosk.flows.qr_route.ROUTE_KEY: a network or direction row after 扫码支付


class PayFeesScreen(KioskScreen):
    def render(self, view: Any) -> None:
        step = view.step
        if step != getattr(self, "_step", None):  # a new step's list starts at its top
            self._step = step
            self.ids.items_scroll.scroll_y = 1
        self._journey(str(step))
        items = self.ids.item_list
        items.clear_widgets()
        if step == "choose":
            for bill in view.bills:
                row = PayBillRow(key=bill.bill_id, text=bill.label, amount=bill.amount, selected=bill.selected)
                row.bind(on_release=lambda r: self.act("toggle", r.key))
                items.add_widget(row)
        elif step in ("confirm", "paying", "uncertain"):
            for label, amount in view.confirm_lines:
                items.add_widget(_line(label, amount))
        elif step == "done":
            for label, value in view.result_lines:
                items.add_widget(_line(label, value))
        charges = self.ids.charge_lines
        charges.clear_widgets()
        for label, value in getattr(view, "charge_lines", ()):
            charges.add_widget(_line(label, value))
        methods = self.ids.methods
        methods.clear_widgets()
        if step == "choose":
            for method in view.methods:
                row = PayMethodRow(key=method.method, text=method.label, reason=method.reason,
                                selected=method.selected, disabled=not method.enabled)
                row.bind(on_release=lambda r: self.act("choose_method", r.key))
                methods.add_widget(row)
        self._show_new_route_rows(step)
        self.ids.error.show(view.error, self.language)
        self.ids.payment.handler = lambda accept: self.act("answer_overpay", accept)
        self.ids.payment.show(view.payment, self.language)

    def _show_new_route_rows(self, step: str) -> None:
        """The network and direction rows that 扫码支付 adds (kiosk.flows.qr_route) appear below the methods, often
        below the fold: when they appear, the side panel scrolls to show them, once (not on every refresh, so a
        resident scrolling there is not moved)."""
        rows = [r for r in self.ids.methods.children if r.key.startswith(ROUTE_ROWS)] if step == "choose" else []
        keys = {r.key for r in rows}
        appeared = bool(keys - getattr(self, "_route_keys", set()))
        self._route_keys = keys
        if appeared:
            last = rows[0]  # children are newest first: the last row of the list
            Clock.schedule_once(lambda _dt: self.ids.side_scroll.scroll_to(last, padding=10, animate=False))

    def _journey(self, step: str) -> None:
        trail = self.ids.trail
        now = STEP_INDEX.get(step, 0)
        if len(trail.children) != len(JOURNEY):
            trail.clear_widgets()
            for number in range(1, len(JOURNEY) + 1):
                trail.add_widget(PayStepMark(number=number))
        for mark, (index, (_key, caption)) in zip(reversed(trail.children), enumerate(JOURNEY)):
            mark.caption = translate(caption, self.language)
            mark.state = "done" if index < now or (step == "done" and index == now) else (
                "now" if index == now else "todo")
