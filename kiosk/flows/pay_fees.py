"""Pay fees journey: choose bills -> confirm items, total and method -> progress -> result with receipt number.
From the household page's "pay all from card balance" it opens on the confirm step (every bill, that card)."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kiosk import errors
from kiosk.flows import card_picker, credit
from kiosk.flows.base import DEVICE_PRINTER, ErrorView, Flow, PaymentView, ProgressView
from kiosk.flows.invoice_offer import InvoiceOffering
from kiosk.flows.invoice_records import InvoiceOfferView
from kiosk.flows.qr_route import ROUTE_KEY, QrRoute
from kiosk.flows.records import (BILL_KIND_LABELS, PAYMENT_METHOD_LABELS, CardStatus, CardView, HouseholdSummary,
                                 PaymentMethod, PaymentResult)
from kiosk.i18n import N_

METHOD_DEVICES = {PaymentMethod.CASH: "cash", PaymentMethod.QR: "gateway"}
CARD_KEY = ":"  # a method key naming one of several cards: "card:<UID>", "credit+card:<UID>"


class PayStep(StrEnum):
    LOADING = "loading"
    CHOOSE = "choose"
    CONFIRM = "confirm"
    PAYING = "paying"
    DONE = "done"
    FAILED = "failed"
    UNCERTAIN = "uncertain"  # timed out or cancelled while paying: the outcome must be checked


@dataclass(frozen=True)
class BillChoice:
    bill_id: str
    label: str
    amount: str
    selected: bool


@dataclass(frozen=True)
class MethodChoice:
    method: str
    label: str
    enabled: bool
    reason: str
    selected: bool


@dataclass(frozen=True)
class PayView:
    step: PayStep
    title: str
    prompt: str
    bills: tuple[BillChoice, ...]
    all_selected: bool
    total: str
    methods: tuple[MethodChoice, ...]
    can_continue: bool
    confirm_lines: tuple[tuple[str, str], ...]  # (item, amount) restated before paying
    confirm_method: str
    receipt_number: str
    result_lines: tuple[tuple[str, str], ...]
    progress: ProgressView | None
    error: ErrorView | None
    payment: PaymentView | None = None  # what to do while money moves (insert notes, scan the code)
    confirm_caption: str = ""  # "Confirm and pay", or "Pay without a paper receipt" when the printer cannot print
    confirm_enabled: bool = True  # False while the printer is being checked
    notice: str = ""  # the printer check's warning (before paying) or "printed later" (after)
    credit: str = ""  # the household's account credit ("" when there is none)
    device: str = ""  # where to act when no money moves: "printer" on the done step while the receipt prints
    charge_lines: tuple[tuple[str, str], ...] = ()  # confirm: the card's balance now and after paying
    invoice_caption: str = ""  # done: "Request an invoice" when the receipt can be invoiced


class PayFeesFlow(InvoiceOffering, Flow):
    route = "pay_fees"

    def __init__(self, ctx, pay_all: bool = False, **params) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, **params)
        self.pay_all = pay_all  # asked for from the household page: every bill from the card's balance
        self.shortcut = False  # the confirm step was reached by that shortcut: Back returns to the household page
        self.step = PayStep.LOADING
        self.summary: HouseholdSummary | None = None
        self.selected: set[str] = set()
        self.method: PaymentMethod | None = None
        self.credit_fen = 0  # the part paid from account credit (split tender; everything with CREDIT)
        self.key = ""
        self.result: PaymentResult | None = None
        self.invoice_offer: InvoiceOfferView | None = None  # after paying: whether "开发票" is offered
        self.error: ErrorView | None = None
        self.card_per_method = False  # several cards after a unit + PIN sign-in: one "card balance" button per card
        self.qr_route = QrRoute()  # after 扫码支付: the network and the direction (kiosk.flows.qr_route)

    def start(self) -> None:
        identity = self.session.identity
        if identity is None:
            self.ctx.navigate("identify", then=self.route)
            return
        self.step = PayStep.LOADING
        self.call("household_summary", lambda: self.services.household_summary(identity.household_id),
                  self._loaded, self._load_failed)
        self.changed()

    def _loaded(self, summary: HouseholdSummary) -> None:
        chosen = card_picker.preselected(summary, self.session.identity)  # the tapped card, or the only one
        self.card_per_method = isinstance(chosen, card_picker.MustPick)
        self.summary = summary.acting_on(None if isinstance(chosen, card_picker.MustPick) else chosen)
        self.selected = {b.bill_id for b in summary.bills}  # all by default; the user can untick
        self.step = PayStep.CHOOSE
        if self.pay_all:
            self._straight_to_confirm()

    def _straight_to_confirm(self) -> None:
        """The shortcut, when it still holds on the fresh summary (one known card, in use, covering every bill):
        card balance chosen and on to the confirm step, which is never skipped. Otherwise the choice step."""
        pick = credit.MethodPick(PaymentMethod.CARD_BALANCE, 0)
        if self.card_per_method or not self.selected or not self._method_state(pick)[0]:
            return
        self.method, self.credit_fen = PaymentMethod.CARD_BALANCE, 0
        self.shortcut = True
        self.next()

    def _load_failed(self, exc: errors.KioskError) -> None:
        self.step, self.error = PayStep.FAILED, self.error_view(exc, N_("Please try again, or ask staff for help."))

    # --- choose ----------------------------------------------------------------------------------
    @property
    def total_fen(self) -> int:
        if self.summary is None:
            return 0
        return sum(b.amount_fen for b in self.summary.bills if b.bill_id in self.selected)

    def toggle(self, bill_id: str) -> None:
        if self.step is not PayStep.CHOOSE:
            return
        self.selected ^= {bill_id}
        self._drop_unusable_method()
        self.changed()

    def select_all(self, on: bool = True) -> None:
        if self.step is PayStep.CHOOSE and self.summary is not None:
            self.selected = {b.bill_id for b in self.summary.bills} if on else set()
            self._drop_unusable_method()
            self.changed()

    @property
    def household_credit_fen(self) -> int:
        return self.summary.credit_fen if self.summary is not None else 0

    def _method_state(self, pick: credit.MethodPick) -> tuple[bool, str]:
        status = self.ctx.status
        device = METHOD_DEVICES.get(pick.method)
        if device and status is not None and status.device_down(device):
            return False, N_("Temporarily unavailable")
        if pick.method is PaymentMethod.CARD_BALANCE:
            s = self.summary
            if s is None or s.card_uid is None or s.card_status is not CardStatus.ACTIVE:
                return False, N_("Needs an active card")
            if (s.card_balance_fen or 0) < self.total_fen - pick.credit_fen:
                return False, N_("Balance not enough")
        return True, ""

    @property
    def _pick(self) -> credit.MethodPick | None:
        if self.method is None:
            return None
        return credit.MethodPick(self.method, self.credit_fen)

    def _drop_unusable_method(self) -> None:
        """The total changed: a choice no longer offered (credit alone that stops covering it, a split that
        is no longer needed) or no longer usable is dropped, the same method reframed when it can be."""
        pick = self._pick
        if pick is None:
            return
        again = credit.parse(pick.key, self.household_credit_fen, self.total_fen)
        if again is None or not self._method_state(again)[0]:
            self.method, self.credit_fen = None, 0
        else:
            self.credit_fen = again.credit_fen

    def _card_state(self, card: CardView, pick: credit.MethodPick) -> tuple[bool, str]:
        if not card.usable:
            return False, card_picker.state_words(card, self.language)
        if card.balance_fen < self.total_fen - pick.credit_fen:
            return False, self.t(N_("Balance not enough"))
        return True, ""

    def choose_method(self, method: str) -> None:
        if method.startswith(ROUTE_KEY):  # a row of the QR question under 扫码支付
            if self.step is PayStep.CHOOSE and self.method is PaymentMethod.QR \
                    and self.qr_route.choose(method, self.ctx.status):
                self.changed()
            return
        base, _, uid = method.partition(CARD_KEY)  # "card:<UID>" / "credit+card:<UID>": one of several cards
        card = self.summary.card(uid) if uid and self.summary is not None else None
        if uid and card is None:
            return
        chosen = credit.parse(base, self.household_credit_fen, self.total_fen)
        if self.step is not PayStep.CHOOSE or chosen is None or self.summary is None:
            return
        if card is not None and not self._card_state(card, chosen)[0]:
            return
        if card is not None:
            self.summary = self.summary.acting_on(card)
        if self._method_state(chosen)[0]:
            self.method, self.credit_fen = chosen.method, chosen.credit_fen
            self.changed()

    def next(self) -> None:
        """From the choice page to the confirmation page."""
        if self.step is PayStep.CHOOSE and self.selected and self.method is not None and self._route_complete():
            self.step = PayStep.CONFIRM
            self.key = self.session.new_key("pay_bills")
            self.check_printer()
            self.changed()

    def back(self) -> None:
        if self.step is PayStep.CONFIRM and self.shortcut:  # it was one tap from the household page: back there
            self.ctx.navigate("household")
            return
        if self.step is PayStep.CONFIRM:
            self.step = PayStep.CHOOSE
        elif self.step in (PayStep.CHOOSE, PayStep.FAILED, PayStep.DONE):
            self.ctx.navigate("household")
            return
        self.changed()

    # --- pay ----------------------------------------------------------------------------------
    def confirm(self) -> None:
        if self.step not in (PayStep.CONFIRM, PayStep.UNCERTAIN) or self.summary is None or self.method is None:
            return
        summary, method, key, credit_fen = self.summary, self.method, self.key, self.credit_fen
        bills = tuple(b.bill_id for b in summary.bills if b.bill_id in self.selected)
        language = self.language
        self.step, self.error = PayStep.PAYING, None
        control = self.new_payment_control()
        self.qr_route.apply(control, self.ctx.status)
        self.call("pay_bills",
                  lambda: self.services.pay_bills(summary.household_id, bills, method, key, language, summary.card_uid,
                                                  control=control, credit_fen=credit_fen),
                  self._paid, self._pay_failed, timeout_s=self.ctx.payment_timeout_s, on_cancel=self._uncertain)
        self.changed()

    def _paid(self, result: PaymentResult) -> None:
        self.result, self.step = result, PayStep.DONE
        self.offer_invoice(result.receipt_number)  # 开发票, once the service says the receipt can have one

    def _pay_failed(self, exc: errors.KioskError) -> None:
        if isinstance(exc, (errors.RequestTimedOut, errors.PaymentInProgress)):  # the first attempt is still running
            self._uncertain()
            self.error = self.error_view(exc, N_("Tap Check again: you will never be charged twice."))
            return
        self.step = PayStep.FAILED
        hint = N_("Anything already paid is kept as credit on your account.") if isinstance(
            exc, errors.PaymentCancelled) else N_("Nothing was charged. Please try again, or ask staff for help.")
        self.error = self.error_view(exc, hint, reference=self.key.rsplit(":", 1)[-1].upper())

    def _uncertain(self) -> None:
        self.step = PayStep.UNCERTAIN

    # --- view ----------------------------------------------------------------------------------
    def _card_methods(self, summary: HouseholdSummary, pick: credit.MethodPick, chosen: str) -> list[MethodChoice]:
        """'Card balance: Resident card, ending C3D4 / In use · Balance ¥120.00', one per card of the household
        (with the account credit first when the pick splits)."""
        out = []
        for card in summary.cards:
            enabled, reason = self._card_state(card, pick)
            label = f"{credit.label(pick, self.t, self.money)}: {card_picker.card_button(card, self.language)}"
            out.append(MethodChoice(f"{pick.key}{CARD_KEY}{card.card_uid}", label, enabled, reason,
                                    pick.key == chosen and summary.card_uid == card.card_uid))
        return out

    def _route_complete(self) -> bool:
        return self.method is not PaymentMethod.QR or self.qr_route.complete(self.ctx.status)

    def _method_words(self) -> str:
        if self._pick is None:
            return ""
        words = credit.confirm_text(self._pick, self.total_fen, self.t, self.money)
        route = self.qr_route.words(self.ctx.status, self.t) if self.method is PaymentMethod.QR else ""
        if route:
            words = f"{words} · {route}"
        card = self.summary.acting_card if self.summary else None
        if self.method is PaymentMethod.CARD_BALANCE and card is not None:
            words = self.t(N_("{method} ({card})"), method=words, card=card_picker.card_name(card, self.language))
        return words

    def _charge_lines(self) -> tuple[tuple[str, str], ...]:
        """What paying from a card does to it, restated before confirming: its balance now and after."""
        s = self.summary
        if self.step is not PayStep.CONFIRM or self.method is not PaymentMethod.CARD_BALANCE or s is None \
                or s.card_balance_fen is None:
            return ()
        now = s.card_balance_fen
        return ((self.t(N_("Card balance now")), self.money(now)),
                (self.t(N_("Card balance after paying")), self.money(now - (self.total_fen - self.credit_fen))))

    def view(self) -> PayView:
        s = self.summary
        bills = tuple(BillChoice(b.bill_id, f"{self.t(BILL_KIND_LABELS[b.kind])} {b.period}", self.money(b.amount_fen),
                                 b.bill_id in self.selected) for b in (s.bills if s else ()))
        methods = []
        chosen = self._pick.key if self._pick is not None else ""
        for pick in credit.choices(self.household_credit_fen, self.total_fen):
            if pick.method is PaymentMethod.CARD_BALANCE and self.card_per_method and s is not None:
                methods += self._card_methods(s, pick, chosen)
                continue
            enabled, reason = self._method_state(pick)
            methods.append(MethodChoice(pick.key, credit.label(pick, self.t, self.money), enabled,
                                        self.t(reason) if reason else "", pick.key == chosen))
            if pick.method is PaymentMethod.QR and pick.key == chosen and self.step is PayStep.CHOOSE:
                methods += [MethodChoice(o.key, self.t(o.label), True, "", o.selected)
                            for o in self.qr_route.options(self.ctx.status)]
        prompts = {
            PayStep.LOADING: N_("Loading your bills, please wait"),
            PayStep.CHOOSE: N_("Please choose the bills to pay and how to pay"),
            PayStep.CONFIRM: N_("Please check and confirm"),
            PayStep.PAYING: N_("Paying, please wait"),
            PayStep.DONE: N_("Payment complete. Thank you!"),
            PayStep.FAILED: N_("Sorry, the payment did not go through"),
            PayStep.UNCERTAIN: N_("We are not sure the payment finished"),
        }
        confirm_lines = tuple((c.label, c.amount) for c in bills if c.selected)
        result_lines: tuple[tuple[str, str], ...] = ()
        if self.result is not None:
            r = self.result
            result_lines = ((self.t(N_("Amount paid")), self.money(r.amount_fen)),)
            if r.credit_used_fen:
                result_lines += ((self.t(N_("Paid from account credit")), self.money(r.credit_used_fen)),)
                if r.credit_used_fen < r.amount_fen:
                    paid_by = self.t(N_("Paid by {method}"), method=self.t(PAYMENT_METHOD_LABELS[r.method]))
                    result_lines += ((paid_by, self.money(r.amount_fen - r.credit_used_fen)),)
            result_lines += ((self.t(N_("Receipt number")), r.receipt_number),)
            if r.credit_fen:  # banknotes above the total: kept as account credit
                result_lines += (("", self.t(N_("No change given: {amount} credited to your account."),
                                             amount=self.money(r.credit_fen))),)
            if r.balance_after_fen is not None:
                result_lines += ((self.t(N_("Card balance")), self.money(r.balance_after_fen)),)
        payment = self.payment_view()
        return PayView(
            step=self.step,
            title=self.t(N_("Pay fees")),
            prompt=payment.heading if payment is not None and payment.heading else self.t(prompts[self.step]),
            bills=bills,
            all_selected=bool(s and s.bills) and len(self.selected) == len(s.bills if s else ()),
            total=self.money(self.total_fen),
            methods=tuple(methods),
            can_continue=bool(self.selected) and self.method is not None and self._route_complete(),
            confirm_lines=confirm_lines,
            confirm_method=self._method_words(),
            receipt_number=self.result.receipt_number if self.result else "",
            result_lines=result_lines,
            progress=ProgressView(self.t(N_("Paying, please wait"))) if self.step is PayStep.PAYING else None,
            error=self.error,
            payment=payment,
            confirm_caption=self.confirm_caption(self.t(N_("Confirm and pay"))) if self.step is PayStep.CONFIRM
            else self.t(N_("Check again")),
            confirm_enabled=not (self.step is PayStep.CONFIRM and self.gate_checking),
            notice=self.printer_notice(self.step.value),
            credit=self.money(self.household_credit_fen)  # before paying only: afterwards it has changed
            if self.household_credit_fen > 0 and self.step in (PayStep.CHOOSE, PayStep.CONFIRM) else "",
            device=DEVICE_PRINTER if self.step is PayStep.DONE and self.result is not None and self.paper_receipt
            else "",
            charge_lines=self._charge_lines(),
            invoice_caption=self.invoice_caption(),
        )
