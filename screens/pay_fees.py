"""Pay fees screen: choose bills and method, confirmation restating items/total/method, progress, result.

Every step shows where it stands in the journey (choose -> confirm -> pay -> done). A bill row shows its tick
as a large filled check box on a tinted row with a heavier border (visible from a step back, never colour
alone); while money moves the PaymentPanel (amounts, the device's pictogram) takes the page; the done step
shows the printer slot while the receipt prints.
"""
from __future__ import annotations

from pathlib import Path
from collections.abc import Callable, Iterable
from typing import Any

from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout

import screens.pictograms  # noqa: F401 - the pictogram rules, used by the PaymentPanel
from screens.scroll_hint import HintedScroll
from kiosk.flows.qr_route import QUESTIONS, ROUTE_KEY
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
    natural = NumericProperty(0)  # the height its words need (pay_fees.kv)
    pair = NumericProperty(0)  # an answer of a segmented pair: the taller answer's natural height


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


ROUTE_ROWS = ROUTE_KEY  # a network or direction answer after 扫码支付


class QrFollowUps(BoxLayout):
    """The follow-up questions of 扫码支付, indented under it behind an accent bar: per question a small heading
    and its answers side by side, a segmented pair of large buttons (layout in pay_fees.kv)."""


class QrQuestion(BoxLayout):
    """One follow-up question: its heading (`text`) and the row of answers (`ids.answers`)."""

    text = StringProperty("")


def qr_questions(answers: Iterable[tuple[str, str, bool, bool]], language: str,
                 on_choose: Callable[[str], Any]) -> QrFollowUps:
    """扫码支付's follow-up questions as the pay page draws them, for every screen that offers 扫码支付 (this page,
    the generic step screen): `answers` are (key, translated label, selected, enabled) of the `qr-route:*` rows, in
    the flow's order; a tap calls `on_choose(key)`."""
    panel = QrFollowUps()
    questions: dict[str, QrQuestion] = {}
    for key, label, selected, enabled in answers:
        group = key.removeprefix(ROUTE_KEY).partition(":")[0]
        if group not in questions:
            questions[group] = QrQuestion(text=translate(QUESTIONS.get(group, ""), language))
            panel.add_widget(questions[group])
        row = PayRouteButton(key=key, text=label, selected=selected, disabled=not enabled)
        row.bind(on_release=lambda r: on_choose(r.key))
        box = questions[group].ids.answers
        box.add_widget(row)
        row.bind(natural=lambda _r, _h, a=box: _line_up(a))
        _line_up(box)
    for question in questions.values():
        question.ids.answers.bind(orientation=lambda a, _o: _line_up(a))
    return panel


def route_keys(follow_ups: Any) -> set[str]:
    """The answers' keys in a panel of follow-up questions (none for no panel)."""
    return {r.key for q in (follow_ups.children if follow_ups else ()) for r in q.ids.answers.children}


def scroll_to_questions(scroll: Any, content: Any, chosen: Any, follow_ups: Any) -> None:
    """Scroll `scroll` (whose child is `content`) so 扫码支付's row (`chosen`) is its top row and its questions
    follow whole; where both are taller than the view, the questions whole at its foot."""
    room = content.height - scroll.height
    if room <= 0 or chosen.parent is None or follow_ups.parent is None:
        return
    bottom = content.to_window(content.x, content.y)[1]
    top_of_chosen = chosen.to_window(chosen.x, chosen.top)[1] - bottom  # in the content, from its foot
    foot_of_questions = follow_ups.to_window(follow_ups.x, follow_ups.y)[1] - bottom
    want = (top_of_chosen - scroll.height) / room  # 扫码支付 at the top of the panel
    if top_of_chosen - foot_of_questions > scroll.height:  # taller than the panel: the questions whole instead
        want = foot_of_questions / room
    scroll.scroll_y = min(1.0, max(0.0, want))


def _line_up(answers: Any) -> None:
    """The answers of one question side by side, all as tall as the tallest (its words wrap the most); or, stacked,
    each as tall as its own words."""
    tallest = max(c.natural for c in answers.children)
    side_by_side = answers.orientation == "horizontal"
    for c in answers.children:
        c.pair = tallest if side_by_side else 0
    answers.height = tallest if side_by_side else sum(c.natural for c in answers.children) + answers.spacing * (
        len(answers.children) - 1)


class PayRouteButton(PayMethodRow):
    """One answer of a follow-up question: a large button of a segmented pair, as tall as its partner."""

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
        follow_ups = None
        if step == "choose":
            route = [m for m in view.methods if m.method.startswith(ROUTE_ROWS)]
            for method in view.methods:
                if method.method.startswith(ROUTE_ROWS):
                    continue
                row = PayMethodRow(key=method.method, text=method.label, reason=method.reason,
                                   selected=method.selected, disabled=not method.enabled)
                row.bind(on_release=lambda r: self.act("choose_method", r.key))
                methods.add_widget(row)
                if route and method.selected:  # the questions right under the chosen 扫码支付
                    follow_ups = qr_questions(((m.method, m.label, m.selected, m.enabled) for m in route),
                                              self.language, lambda key: self.act("choose_method", key))
                    methods.add_widget(follow_ups)
                    self._chosen_row = row
        self._show_new_route_rows(step, follow_ups)
        self.ids.error.show(view.error, self.language)
        self.ids.payment.handler = lambda accept: self.act("answer_overpay", accept)
        self.ids.payment.show(view.payment, self.language)

    def _show_new_route_rows(self, step: str, follow_ups: Any) -> None:
        """The questions that 扫码支付 adds (kiosk.flows.qr_route) appear under it, often below the fold: when they
        appear, the side panel scrolls so that 扫码支付 is its top row and its questions follow whole (just above
        下一步), once (not on every refresh, so a resident scrolling there is not moved)."""
        keys = route_keys(follow_ups)
        appeared = bool(keys - getattr(self, "_route_keys", set()))
        self._route_keys = keys
        if appeared:
            chosen = self._chosen_row
            Clock.schedule_once(lambda _dt: self._scroll_to_questions(chosen, follow_ups))

    def _scroll_to_questions(self, chosen: Any, follow_ups: Any) -> None:
        scroll_to_questions(self.ids.side_scroll, self.ids.side_content, chosen, follow_ups)

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
