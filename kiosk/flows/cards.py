"""Card journeys: top up stored value; report loss, unfreeze, replace a card (fee, new card, balance moved)."""
from __future__ import annotations

from typing import Any

from kiosk.flows import card_picker
from kiosk.flows.base import DEVICE_CARD
from kiosk.flows.card_picker import PICK_STEP
from kiosk.flows.invoice_offer import StepInvoiceOffering
from kiosk.flows.records import CardActionResult, CardStatus, CardView, PaymentMethod, TopUpResult
from kiosk.flows.steps import Option, StepFlow, StepView
from kiosk.i18n import N_


class TopUpFlow(StepInvoiceOffering, StepFlow):
    """amount -> method -> confirm (no change for cash) -> paying -> done with balance before/after."""

    route = "top_up"
    title = N_("Top up card")
    acts_on_card = True

    def __init__(self, ctx, **params: Any) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, **params)
        self.amount = 0
        self.result: TopUpResult | None = None

    def loaded(self) -> None:
        s = self.summary
        self.step = "amount" if s is not None and s.card_uid and s.card_status is CardStatus.ACTIVE else "no_card"

    def card_reason(self, card: CardView) -> str:
        return "" if card.usable else card_picker.state_words(card, self.language)

    def card_tapped(self, card_uid: str) -> None:
        """A card on the reader during a top-up: on the picker it picks that card; later it is the card the value
        is written to (the card station reads it), never a new sign-in in the middle of a payment."""
        if self.step == PICK_STEP:
            self.pick_card(card_uid.upper())

    def choose(self, key: str) -> None:
        if self.step == PICK_STEP:
            self.pick_card(key)
        elif self.step == "amount" and key.isdigit():
            self.amount = int(key)
            self.go_step("method")
        elif self.step == "method":
            self.pick_method(key, self.amount, allow_card=False)

    def primary(self) -> None:
        if self.method_continue():  # 扫码支付's questions answered on the method page
            return
        if self.step in ("confirm", "uncertain") and self.summary is not None and self.summary.card_uid:
            uid, amount, method, language = self.summary.card_uid, self.amount, self.method, self.language
            credit_fen = self.credit_fen
            assert method is not None
            self.pay("top_up", lambda key, control: self.services.top_up(uid, amount, method, key, language,
                                                                         control=control, credit_fen=credit_fen),
                     self._done)
        elif self.step == "done":
            self.done_primary()

    def _done(self, result: TopUpResult) -> None:
        self.result = result

    def view(self) -> StepView:
        if self.step == PICK_STEP:
            return self.picker_view()
        amounts = self.ctx.site.top_up_amounts_fen if self.ctx.site else (5000, 10000, 20000, 50000)
        prompts = {"loading": N_("Loading, please wait"), "no_card": N_("Needs an active card"),
                   "amount": N_("How much would you like to add?"), "method": N_("How would you like to pay?"),
                   "confirm": N_("Please check and confirm"), "paying": N_("Paying, please wait"),
                   "uncertain": N_("We are not sure the payment finished"), "done": N_("Top-up complete. Thank you!"),
                   "failed": N_("Sorry, the payment did not go through")}
        if self.step == "no_card" and self.summary is not None and self.summary.acting_card is not None:
            prompts["no_card"] = N_("This card cannot be topped up now: {state}")
        options: tuple[Option, ...] = ()
        lines: tuple[tuple[str, str], ...] = ()
        if self.step == "amount":
            options = tuple(Option(str(a), self.money(a)) for a in amounts)
            if self.household_credit_fen > 0:  # move the whole account credit onto the card
                options = tuple(o for o in options if o.key != str(self.household_credit_fen))
                options = (Option(str(self.household_credit_fen),
                                  self.t(N_("All my account credit {amount}"),
                                         amount=self.money(self.household_credit_fen))),) + options
        elif self.step == "method":
            options = self.method_options(self.amount, allow_card=False)
        if self.step in ("confirm", "paying", "uncertain"):
            lines = (self.card_line(), (self.t(N_("Top up card")), self.money(self.amount)), self.method_line())
            if self.session.identity is not None and not self.session.identity.card_uid:
                lines += (("", self.t(N_("Place this card on the reader when asked: the value is written onto "
                                         "it."))),)
            if self.method is PaymentMethod.CASH:
                lines += (("", self.t(N_("No change is given. Any amount above the total is credited to your "
                                         "household account."))),)
        if self.step == "done" and self.result is not None:
            r = self.result
            lines = (self.card_line(), (self.t(N_("Card balance before")), self.money(r.balance_before_fen)),
                     (self.t(N_("Card balance after")), self.money(r.balance_after_fen)),
                     (self.t(N_("Receipt number")), r.receipt_number))
        primary = {"confirm": N_("Confirm and pay"), "uncertain": N_("Check again"), "done": N_("Done")}.get(self.step, "")
        card = self.summary.acting_card if self.summary else None
        state = card_picker.state_words(card, self.language) if card else ""
        return self.base_view(self.t(prompts.get(self.step, ""), state=state), options=options, lines=lines,
                              primary=self.t(primary) if primary else "",
                              device=self.receipt_device(self.result.receipt_number if self.result else ""))


class CardLossFlow(StepInvoiceOffering, StepFlow):
    """On one card of the household: report it lost (blocked at once), freeze it for a while and unfreeze it,
    or replace it with a new one. A lost card is unblocked (解挂) by tapping that very card at sign-in with the
    household PIN (kiosk.flows.identify), or by staff; a freeze set by staff is lifted by staff."""

    route = "card_loss"
    title = N_("Card loss and replacement")
    acts_on_card = True
    ACTIONS = {"lost": N_("Report card lost"), "freeze": N_("Freeze card for now"), "unfreeze": N_("Unfreeze card"),
               "replace": N_("Replace card")}

    def __init__(self, ctx, **params: Any) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, **params)
        self.action = ""
        self.new_uid = ""
        self.result: CardActionResult | None = None

    def loaded(self) -> None:
        self.step = "menu" if self.summary is not None and self.summary.card_uid else "no_card"

    def _menu(self) -> tuple[Option, ...]:
        card = self.summary.acting_card if self.summary else None
        status = card.status if card else None
        blockable = status in (CardStatus.ACTIVE, CardStatus.FROZEN)
        unfreeze_reason = ""
        if status is CardStatus.LOST:
            unfreeze_reason = N_("Found it? Tap this card on the sign-in page and enter your PIN")
        elif status is not CardStatus.FROZEN:
            unfreeze_reason = N_("The card is not frozen")
        elif card is not None and card.frozen_by_staff:
            unfreeze_reason = N_("Frozen by staff: please ask staff")
        return (
            Option("lost", self.t(self.ACTIONS["lost"]), blockable,
                   reason="" if blockable else self.t(N_("Already reported"))),
            Option("freeze", self.t(self.ACTIONS["freeze"]), status is CardStatus.ACTIVE,
                   reason="" if status is CardStatus.ACTIVE else self.t(N_("Only a card in use can be frozen"))),
            Option("unfreeze", self.t(self.ACTIONS["unfreeze"]), not unfreeze_reason,
                   reason=self.t(unfreeze_reason) if unfreeze_reason else ""),
            Option("replace", self.t(self.ACTIONS["replace"]), True),
        )

    def choose(self, key: str) -> None:
        if self.step == PICK_STEP:
            self.pick_card(key)
        elif self.step == "menu" and any(o.key == key and o.enabled for o in self._menu()):
            self.action = key
            self.go_step("tap_new" if key == "replace" else "confirm")
        elif self.step == "method":
            fee = self.ctx.site.card_replacement_fee_fen if self.ctx.site else 0
            self.pick_method(key, fee, allow_card=False)

    def card_tapped(self, card_uid: str) -> None:
        """On the picker: that card of the household. Then: the new card on the reader (replacement)."""
        if self.step == PICK_STEP:
            self.pick_card(card_uid.upper())
        elif self.step == "tap_new" and self.summary is not None and self.summary.card(card_uid) is None:
            self.new_uid = card_uid.upper()
            self.go_step("method")

    def primary(self) -> None:
        if self.method_continue():  # 扫码支付's questions answered on the method page
            return
        s = self.summary
        if s is None or s.card_uid is None:
            return
        household, uid, language = s.household_id, s.card_uid, self.language
        if self.step == "confirm" and self.action == "lost":
            self.pay("report_card_lost", lambda _key, _control: self.services.report_card_lost(household, uid, language),
                     self._done)
        elif self.step == "confirm" and self.action == "freeze":
            self.pay("freeze_card", lambda _key, _control: self.services.freeze_card(household, uid, language),
                     self._done)
        elif self.step == "confirm" and self.action == "unfreeze":
            self.pay("unfreeze_card", lambda _key, _control: self.services.unfreeze_card(household, uid, language),
                     self._done)
        elif self.step in ("confirm", "uncertain") and self.action == "replace" and self.method is not None:
            new, method, credit_fen = self.new_uid, self.method, self.credit_fen
            self.pay("replace_card", lambda key, control: self.services.replace_card(
                household, uid, new, method, key, language, control=control, credit_fen=credit_fen),
                     self._done)
        elif self.step == "done":
            self.done_primary()

    def done_route(self) -> str:
        return "goodbye" if self.action == "lost" else "household"

    def _done(self, result: CardActionResult) -> None:
        self.result = result

    def view(self) -> StepView:
        if self.step == PICK_STEP:
            return self.picker_view()
        fee = self.ctx.site.card_replacement_fee_fen if self.ctx.site else 0
        prompts = {"loading": N_("Loading, please wait"), "no_card": N_("No card is linked to this household."),
                   "menu": N_("What would you like to do?"), "tap_new": N_("Please place the new card on the reader"),
                   "method": N_("How would you like to pay?"), "confirm": N_("Please check and confirm"),
                   "paying": N_("Please wait"), "uncertain": N_("We are not sure the payment finished"),
                   "done": N_("Done. Thank you!"), "failed": N_("Sorry, this could not be done")}
        options: tuple[Option, ...] = ()
        lines: tuple[tuple[str, str], ...] = ()
        card = self.summary.acting_card if self.summary else None
        if self.step == "menu":
            options = self._menu()
            if card is not None:
                lines = (self.card_line(), (self.t(N_("State")), card_picker.state_words(card, self.language)))
        elif self.step == "method":
            options = self.method_options(fee, allow_card=False)
        if self.step in ("confirm", "paying", "uncertain"):
            lines = (self.card_line(), (self.t(N_("Action")), self.t(self.ACTIONS[self.action])))
            if self.action == "lost":
                lines += (("", self.t(N_("The card is blocked at once, everywhere."))),)
            if self.action == "freeze":
                lines += (("", self.t(N_("The card cannot be used until you unfreeze it here. Its balance stays "
                                         "on it."))),)
            if self.action == "replace":
                lines += ((self.t(N_("New card")), _masked(self.new_uid)),
                          (self.t(N_("Card replacement fee")), self.money(fee)), self.method_line(),
                          ("", self.t(N_("The balance moves to the new card; the old card stays blocked."))))
        if self.step == "done" and self.result is not None:
            r = self.result
            name = (self.t(N_("New card")), _masked(r.card_uid)) if self.action == "replace" else self.card_line()
            lines = (name, (self.t(N_("State")), self.t(card_picker.CARD_STATUS_LABELS[r.status])))
            if r.balance_fen is not None:
                lines += ((self.t(N_("Card balance")), self.money(r.balance_fen)),)
            if r.receipt_number:
                lines += ((self.t(N_("Receipt number")), r.receipt_number),)
        primary = {"confirm": N_("Confirm"), "uncertain": N_("Check again"), "done": N_("Done")}.get(self.step, "")
        device = DEVICE_CARD if self.step == "tap_new" else self.receipt_device(
            self.result.receipt_number if self.result else "")
        return self.base_view(self.t(prompts.get(self.step, "")), options=options, lines=lines,
                              primary=self.t(primary) if primary else "", device=device)


def _masked(uid: str) -> str:
    return f"****{uid[-4:]}" if len(uid) > 4 else uid
