"""Generic step screen for the phase-2 journeys: options as large rows, detail lines, keypad, main button."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout

import screens.pictograms  # noqa: F401 - the pictogram rules (PaymentPanel, device steps)
from screens.scroll_hint import HintedScroll
from screens.base import KioskScreen
from kiosk.flows.qr_route import ROUTE_KEY
from screens.pay_fees import _line, qr_questions, route_keys, scroll_to_questions

Builder.load_file(str(Path(__file__).with_suffix(".kv")))
__all__ = ["HintedScroll", "OptionRow", "StepsScreen"]  # HintedScroll: the option list in steps.kv


class OptionRow(ButtonBehavior, BoxLayout):
    """One option of a step (kiosk.flows.steps.Option) as a large row: icon, label, detail lines, the reason it
    is unavailable, and a figure at its end (layout at the end of steps.kv)."""

    key = StringProperty("")
    icon = StringProperty("")
    text = StringProperty("")
    detail = StringProperty("")
    reason = StringProperty("")
    value = StringProperty("")
    selected = BooleanProperty(False)
    level = StringProperty("l")  # the label's type level; "m" for a compact row (staff actions)


def option_row(option: Any) -> OptionRow:
    """The row of one option; a label of several lines keeps its first line as the label, the rest as detail."""
    label, _, rest = option.label.partition("\n")
    detail = "\n".join(part for part in (rest, getattr(option, "detail", "")) if part)
    return OptionRow(key=option.key, text=label, detail=detail, icon=getattr(option, "icon", ""),
                     value=getattr(option, "value", ""), reason=option.reason, selected=option.selected,
                     disabled=not option.enabled)


class StepsScreen(KioskScreen):
    """The options' columns are the kv rule's (steps.kv): one in portrait, two side by side in landscape; one in
    landscape too while 扫码支付's follow-up questions show, so they stay right under it."""

    questions = BooleanProperty(False)  # 扫码支付's follow-up questions are on the page

    def render(self, view: Any) -> None:
        options = self.ids.options
        scroll = self.ids.get("options_scroll")
        kept = scroll.scroll_y if scroll is not None else 1.0
        options.clear_widgets()
        route = [o for o in view.options if o.key.startswith(ROUTE_KEY)]
        follow_ups = chosen = None
        for option in view.options:
            if option.key.startswith(ROUTE_KEY):
                continue
            row = option_row(option)
            row.bind(on_release=lambda r: self.act("choose", r.key))
            options.add_widget(row)
            if route and option.selected and follow_ups is None:  # the questions, as on the pay page, under it
                follow_ups = qr_questions(((o.key, o.label, o.selected, o.enabled) for o in route), self.language,
                                          lambda key: self.act("choose", key))
                options.add_widget(follow_ups)
                chosen = row
        self.questions = follow_ups is not None
        keys = tuple(o.key for o in view.options)
        if keys != getattr(self, "_option_keys", None) and scroll is not None:  # new options start at the top
            self._option_keys = keys
            scroll.scroll_y = 1
        elif scroll is not None:  # the same options redrawn (an answer tapped) stay where the resident scrolled
            Clock.schedule_once(lambda _dt: setattr(scroll, "scroll_y", kept))
        self._show_new_questions(scroll, chosen, follow_ups)
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
        self._keep_ticking(bool(getattr(view, "ticking", False)))

    def _show_new_questions(self, scroll: Any, chosen: Any, follow_ups: Any) -> None:
        """When 扫码支付's questions appear, the option list scrolls once so 扫码支付 and its questions show whole
        (as on the pay page), not on every refresh."""
        keys = route_keys(follow_ups)
        appeared = bool(keys - getattr(self, "_route_keys", set()))
        self._route_keys = keys
        if appeared and scroll is not None:
            Clock.schedule_once(lambda _dt: scroll_to_questions(scroll, self.ids.options, chosen, follow_ups))

    def _keep_ticking(self, on: bool) -> None:
        """A countdown on the page (the invoice title form): the flow's tick() once a second while it shows."""
        event = getattr(self, "_tick_event", None)
        if on and event is None:
            self._tick_event = Clock.schedule_interval(lambda _dt: self.act("tick"), 1.0)
        elif not on and event is not None:
            event.cancel()
            self._tick_event = None

    def on_leave(self, *args: Any) -> None:
        self._keep_ticking(False)
