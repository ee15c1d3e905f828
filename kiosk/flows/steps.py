"""Shared shape of the phase-2 journeys: one generic step view, and the pay-with-a-method sub-steps."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kiosk import errors
from kiosk.flows import card_picker, credit
from kiosk.flows.base import DEVICE_PRINTER, ErrorView, Flow, PaymentView, ProgressView
from kiosk.flows.qr_route import ROUTE_KEY, QrRoute
from kiosk.flows.records import CardView, HouseholdSummary, PaymentMethod
from kiosk.i18n import N_

METHOD_DEVICES = {PaymentMethod.CASH: "cash", PaymentMethod.QR: "gateway"}
# Material Design icon names (screens/icons.py) of the option rows
METHOD_ICONS = {PaymentMethod.CARD_BALANCE: "credit-card", PaymentMethod.CASH: "cash", PaymentMethod.QR: "qrcode",
                PaymentMethod.CREDIT: "wallet"}
CARD_ICONS = {"vehicle": "car"}  # every other kind of card: "credit-card"


@dataclass(frozen=True)
class Option:
    """One choice on a step page, drawn as a large row: an icon, the label, a detail line under it, a figure at the
    row's end; a disabled option says why (`reason`)."""

    key: str
    label: str
    enabled: bool = True
    selected: bool = False
    reason: str = ""
    detail: str = ""  # second line(s) in smaller type: the date, the places left, the state
    icon: str = ""  # a Material Design Icons name (screens/icons.py); empty: no icon
    value: str = ""  # a figure shown large at the row's end: a fee, an amount


@dataclass(frozen=True)
class StepView:
    """What the generic step screen shows; any field may be empty."""

    step: str
    title: str
    prompt: str
    options: tuple[Option, ...] = ()
    lines: tuple[tuple[str, str], ...] = ()
    entry: str = ""
    keypad: bool = False
    keypad_dash: bool = False  # the keypad offers "-" (unit numbers such as 1-0302)
    primary: str = ""  # caption of the main button; empty: none
    primary_enabled: bool = True
    message: str = ""
    progress: ProgressView | None = None
    error: ErrorView | None = None
    payment: PaymentView | None = None
    image: str = ""  # a PNG to show (staff receipt viewer)
    back_is_cancel: bool = False  # the Back button reads "Cancel" (a phone form being waited for)
    back_caption: str = ""  # the Back button's own words ("Done" on a done page offering "开发票"); empty: Back
    ticking: bool = False  # the screen calls the flow's tick() once a second (a countdown)
    device: str = ""  # where to act when no money moves (kiosk.flows.base.DEVICES): "card" for a new card, "printer"
    # when the done step's receipt prints; while money moves, `payment.device` says it


class StepFlow(Flow):
    """A journey of simple steps. Screens call choose(key), key(char), primary(), back(), cancel()."""

    title = ""
    acts_on_card = False  # a journey on one card: the tapped card, the only card, or the card picker first

    def __init__(self, ctx, **params: Any) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, **params)
        self.step = "loading"
        self.error: ErrorView | None = None
        self.summary: HouseholdSummary | None = None
        self.method: PaymentMethod | None = None
        self.credit_fen = 0  # the part paid from account credit (all of it when method is CREDIT)
        self.amount_fen = 0  # the total of the chosen method's payment
        self.key_ = ""
        self.history: list[str] = []
        self.qr_route = QrRoute()  # after 扫码支付: the network and the direction (kiosk.flows.qr_route)

    # --- common plumbing ------------------------------------------------------------------------
    def start(self) -> None:
        identity = self.session.identity
        if identity is None:
            self.ctx.navigate("identify", then=self.route)
            return
        self.step = "loading"
        self.call("household_summary", lambda: self.services.household_summary(identity.household_id),
                  self._summary_loaded, self.fail)
        self.changed()

    def _summary_loaded(self, summary: HouseholdSummary) -> None:
        self.summary = summary
        if self.acts_on_card:
            chosen = card_picker.preselected(summary, self.session.identity)
            if isinstance(chosen, card_picker.MustPick):
                self.summary, self.step = summary.acting_on(None), card_picker.PICK_STEP
                return
            self.summary = summary.acting_on(chosen)
        self.loaded()

    # --- the card picker (kiosk.flows.card_picker) ----------------------------------------------
    def card_reason(self, card: CardView) -> str:
        """Why this journey cannot act on `card`, in words (translated); empty when it can."""
        return ""

    def card_options(self) -> tuple[Option, ...]:
        cards = self.summary.cards if self.summary else ()
        current = self.summary.card_uid if self.summary else None
        return tuple(Option(c.card_uid, card_picker.card_button(c, self.language), not self.card_reason(c),
                            c.card_uid == current, self.card_reason(c), icon=CARD_ICONS.get(str(c.kind), "credit-card"))
                     for c in cards)

    def pick_card(self, card_uid: str) -> None:
        """The resident chose a card on the picker: the journey goes on with it (Back returns to the picker)."""
        card = self.summary.card(card_uid) if self.summary else None
        if self.step != card_picker.PICK_STEP or self.summary is None or card is None or self.card_reason(card):
            return
        self.history.append(self.step)
        self.summary, self.error, self.method = self.summary.acting_on(card), None, None
        self.loaded()
        self.changed()

    def picker_view(self) -> StepView:
        return self.base_view(self.t(card_picker.PICK_PROMPT), options=self.card_options())

    def card_line(self) -> tuple[str, str]:
        """('Card', 'Resident card, ending C3D4'): which card the journey acts on, for confirm pages."""
        card = self.summary.acting_card if self.summary else None
        return (self.t(N_("Card")), card_picker.card_name(card, self.language) if card else "")

    def loaded(self) -> None:
        """First step after the household summary arrived."""

    def go_step(self, step: str) -> None:
        self.history.append(self.step)
        self.step, self.error = step, None
        self.changed()

    def fail(self, exc: errors.KioskError) -> None:
        self.step = "failed"
        self.error = self.error_view(exc, N_("Please try again, or ask staff for help."))

    def back(self) -> None:
        while self.history:
            previous = self.history.pop()
            if previous not in ("loading", "paying", "sending"):
                self.step, self.error = previous, None
                self.changed()
                return
        self.ctx.navigate("household")

    def choose(self, key: str) -> None:
        raise TypeError(f"{type(self).__name__} has no options at step {self.step}")

    def key(self, char: str) -> None:
        """Keypad input; steps without a keypad ignore it."""

    def primary(self) -> None:
        """The main button of the step."""

    # --- paying with a method -----------------------------------------------------------------
    @property
    def household_credit_fen(self) -> int:
        return self.summary.credit_fen if self.summary is not None else 0

    def method_options(self, amount_fen: int, allow_card: bool) -> tuple[Option, ...]:
        """Account credit first (alone, or with each method for the rest), then each method alone."""
        options = []
        chosen = credit.MethodPick(self.method, self.credit_fen).key if self.method is not None else ""
        for pick in credit.choices(self.household_credit_fen, amount_fen):
            method = pick.method
            if method is PaymentMethod.CARD_BALANCE and not allow_card:
                continue
            enabled, reason = True, ""
            device = METHOD_DEVICES.get(method)
            if device and self.ctx.status is not None and self.ctx.status.device_down(device):
                enabled, reason = False, self.t(N_("Temporarily unavailable"))
            elif method is PaymentMethod.CARD_BALANCE and (
                    self.summary is None or self.summary.card_uid is None
                    or (self.summary.card_balance_fen or 0) < amount_fen - pick.credit_fen):
                enabled, reason = False, self.t(N_("Balance not enough"))
            options.append(Option(pick.key, credit.label(pick, self.t, self.money), enabled, pick.key == chosen,
                                  reason, icon=METHOD_ICONS.get(method, "")))
            if method is PaymentMethod.QR and pick.key == chosen and enabled:  # its questions, under it
                options += [Option(o.key, self.t(o.label), selected=o.selected, icon=o.icon)
                            for o in self.qr_route.options(self.ctx.status)]
        return tuple(options)

    def _route_asked(self) -> bool:
        """扫码支付 is chosen and the kiosk has a question to ask about it (network, direction)."""
        return self.method is PaymentMethod.QR and bool(self.qr_route.options(self.ctx.status))

    def pick_method(self, key: str, amount_fen: int, allow_card: bool) -> bool:
        """A method row (or a row of 扫码支付's questions) was tapped on the method page. A method goes straight
        on to the confirm page, except 扫码支付 with questions: it stays, the questions under it, until Continue."""
        if key.startswith(ROUTE_KEY):
            if self.step == "method" and self.method is PaymentMethod.QR \
                    and self.qr_route.choose(key, self.ctx.status):
                self.changed()
                return True
            return False
        option = next((o for o in self.method_options(amount_fen, allow_card) if o.key == key), None)
        pick = credit.parse(key, self.household_credit_fen, amount_fen)
        if option is None or not option.enabled or pick is None:
            return False
        self.method, self.credit_fen, self.amount_fen = pick.method, pick.credit_fen, amount_fen
        if self._route_asked():
            self.changed()
            return True
        self.method_continue()
        return True

    def method_continue(self) -> bool:
        """Continue on the method page (a chosen 扫码支付 with its questions answered): on to the confirm page.
        Journeys call it first in primary(); False when this is not that page."""
        if self.step != "method":
            return False
        if self.method is not None and (self.method is not PaymentMethod.QR or self.qr_route.complete(self.ctx.status)):
            self.key_ = self.session.new_key(self.route)
            self.go_step("confirm")
            self.check_printer()
        return True

    def pay(self, label: str, fn: Callable[[str, Any], Any], on_done: Callable[[Any], None]) -> None:
        """Run `fn(idempotency_key, payment_control)` on the worker; timeout leaves 'uncertain'."""
        key = self.key_
        control = self.new_payment_control()
        if self.method is PaymentMethod.QR:  # the network and the direction reach the QR or payment-code collector
            self.qr_route.apply(control, self.ctx.status)
        self.history.append(self.step)
        self.step, self.error = "paying", None

        def failed(exc: errors.KioskError) -> None:
            if isinstance(exc, (errors.RequestTimedOut, errors.PaymentInProgress)):  # the first attempt still runs
                self.step = "uncertain"
                self.error = self.error_view(exc, N_("Tap Check again: you will never be charged twice."))
            else:
                self.step = "failed"
                hint = N_("Anything already paid is kept as credit on your account.") if isinstance(
                    exc, errors.PaymentCancelled) else N_("Nothing was charged. Please try again, or ask staff for help.")
                self.error = self.error_view(exc, hint)

        def done(result: Any) -> None:
            self.step = "done"
            on_done(result)

        self.call(label, lambda: fn(key, control), done, failed, timeout_s=self.ctx.payment_timeout_s,
                  on_cancel=lambda: setattr(self, "step", "uncertain"))
        self.changed()

    def progress(self) -> ProgressView | None:
        if self.step == "loading":
            return ProgressView(self.t(N_("Loading, please wait")))
        if self.step in ("paying", "sending"):
            return ProgressView(self.t(N_("Please wait")))
        return None

    def method_line(self) -> tuple[str, str]:
        """'Payment method: Account credit -¥30.00, rest ¥70.00 by Cash' (or just the method)."""
        if self.method is None:
            return (self.t(N_("Payment method")), "")
        pick = credit.MethodPick(self.method, self.credit_fen)
        words = credit.confirm_text(pick, self.amount_fen, self.t, self.money)
        route = self.qr_route.words(self.ctx.status, self.t) if self.method is PaymentMethod.QR else ""
        return (self.t(N_("Payment method")), f"{words} · {route}" if route else words)

    def receipt_device(self, receipt_number: str) -> str:
        """"printer" on a done step whose receipt comes out of the printer now (a pictogram of the slot)."""
        return DEVICE_PRINTER if self.step == "done" and receipt_number and self.paper_receipt else ""

    def base_view(self, prompt: str, **fields: Any) -> StepView:
        if self.step == "method" and self.household_credit_fen > 0 and not fields.get("lines"):
            fields["lines"] = ((self.t(N_("Account credit")), self.money(self.household_credit_fen)),)
        if self.step == "method" and self._route_asked() and not fields.get("primary"):
            fields["primary"] = self.t(N_("Continue"))
            fields["primary_enabled"] = self.qr_route.complete(self.ctx.status)
        if self.method is not None and self.step in ("confirm", "done"):  # a paying journey: the printer check
            notice = self.printer_notice(self.step)
            fields["message"] = "\n".join(m for m in (fields.get("message", ""), notice) if m)
            if self.step == "confirm":
                fields["primary"] = self.confirm_caption(fields.get("primary", ""))
                fields["primary_enabled"] = fields.get("primary_enabled", True) and not self.gate_checking
        payment = self.payment_view()
        if payment is not None:  # money moves: the heading is the device step ("Insert banknotes")
            prompt = payment.heading or prompt
        return StepView(self.step, self.t(self.title), prompt, progress=self.progress(), error=self.error,
                        payment=payment, **fields)
