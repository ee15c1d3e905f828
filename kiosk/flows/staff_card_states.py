"""Staff card states (maintenance mode): find a household's cards by tapping a card or typing the unit number, then
lift a loss (解挂), freeze (冻结) or unfreeze (解冻) one card with a reason chosen from a list; the services audit the
staff member and the reason. A replaced card is shown with the words that it can never be unblocked. The household's
PIN lock-out (five wrong PINs) is shown with the cards, and staff can clear it.

find -> (tap, or unit + Find) loading -> cards -> card -> reason -> confirm -> working -> done | failed.
cards -> (Clear the PIN lock-out) confirm -> working -> done | failed.
"""
from __future__ import annotations

from typing import Any

from kiosk import errors
from kiosk.flows import card_picker
from kiosk.flows.base import PLEASE_TRY_AGAIN, ProgressView
from kiosk.flows.records import CardActionResult, CardStatus, CardView, StaffCardsView
from kiosk.flows.staff_tools import StaffStepFlow
from kiosk.flows.steps import Option, StepView
from kiosk.i18n import N_

ACTIONS = {"lift_loss": N_("Lift the loss report"), "freeze": N_("Freeze card for now"),
           "unfreeze": N_("Unfreeze card")}
CLEAR_PIN = "clear_pin_lockout"  # the option on the household's card list (never a card UID: those are hex)
REASONS = {"found": N_("The holder found the card"), "holder_asked": N_("Asked for by the holder"),
           "identity_checked": N_("Holder's identity checked at the desk"), "misuse": N_("Suspected misuse"),
           "flagged": N_("Card flagged by the kiosk")}
MAX_UNIT_LEN = 8
BUSY = ("loading", "working")
HINTS: tuple[tuple[type[errors.KioskError], str], ...] = (
    (errors.CardReplaced, N_("A replacement was issued for this card: it can never be unblocked.")),
    (errors.CardUnknown, N_("This card is not one of this site's cards.")),
    (errors.NotFound, N_("Check the unit number, for example 1-0302.")),
    (errors.AlreadyDone, N_("The card is already in that state.")),
)
PIN_HINTS: tuple[tuple[type[errors.KioskError], str], ...] = (
    (errors.AlreadyDone, N_("The household's PIN is not locked.")),
    (errors.NotFound, N_("Check the unit number, for example 1-0302.")),
)


class CardStatesFlow(StaffStepFlow):
    route = "staff_card_states"
    title = N_("Card states")

    def __init__(self, ctx, **params: Any) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, **params)
        self.unit = ""
        self.found: StaffCardsView | None = None
        self.card: CardView | None = None
        self.action = ""
        self.reason = ""
        self.result: CardActionResult | None = None

    def loaded(self) -> None:
        self.step, self.error, self.history = "find", None, []

    # --- find ---------------------------------------------------------------------------------------
    def key(self, char: str) -> None:
        if self.step != "find":
            return
        if char == "back":
            self.unit = self.unit[:-1]
        elif char == "clear":
            self.unit = ""
        elif len(self.unit) < MAX_UNIT_LEN and (char.isdigit() or (char == "-" and self.unit and "-" not in self.unit)):
            self.unit += char
        self.changed()

    def card_tapped(self, uid: str) -> None:
        if self.step in BUSY or self.step in ("reason", "confirm"):
            return
        self._look_up(card_uid=uid.upper())

    def _look_up(self, card_uid: str | None = None, unit: str | None = None, then_card: str = "") -> None:
        staff_id = self.staff_id
        self.history, self.step, self.error, self.action = ["find"], "loading", None, ""
        self.call("staff_household_cards", lambda: self.services.staff_household_cards(staff_id, card_uid, unit),
                  lambda found: self._found(found, then_card or card_uid or ""), self.fail)
        self.changed()

    def _found(self, found: StaffCardsView, card_uid: str) -> None:
        self.found, self.step = found, "cards"
        card = next((c for c in found.cards if c.card_uid == card_uid), None)
        if card is not None:  # a tapped card: straight to it
            self.history.append("cards")
            self.card, self.step = card, "card"

    # --- choose -------------------------------------------------------------------------------------
    def _actions(self) -> tuple[Option, ...]:
        card = self.card
        status = card.status if card else None
        never = self.t(N_("A replacement was issued for this card: it can never be unblocked.")) \
            if status is CardStatus.REPLACED else ""
        return (
            Option("lift_loss", self.t(ACTIONS["lift_loss"]), status is CardStatus.LOST,
                   reason=never or ("" if status is CardStatus.LOST else self.t(N_("The card is not reported lost")))),
            Option("freeze", self.t(ACTIONS["freeze"]), status is CardStatus.ACTIVE,
                   reason=never or ("" if status is CardStatus.ACTIVE else self.t(N_("Only a card in use can be frozen")))),
            Option("unfreeze", self.t(ACTIONS["unfreeze"]), status is CardStatus.FROZEN,
                   reason=never or ("" if status is CardStatus.FROZEN else self.t(N_("The card is not frozen")))),
        )

    def choose(self, key: str) -> None:
        if self.step == "cards" and self.found is not None and key == CLEAR_PIN and self.found.pin_lockout:
            self.card, self.action, self.reason = None, CLEAR_PIN, ""
            self.go_step("confirm")
        elif self.step == "cards" and self.found is not None:
            card = next((c for c in self.found.cards if c.card_uid == key), None)
            if card is not None:
                self.card = card
                self.go_step("card")
        elif self.step == "card" and any(o.key == key and o.enabled for o in self._actions()):
            self.action, self.reason = key, ""
            self.go_step("reason")
        elif self.step == "reason" and key in REASONS:
            self.reason = key
            self.go_step("confirm")

    def primary(self) -> None:
        if self.step == "find" and self.unit:
            self._look_up(unit=self.unit)
        elif self.step == "confirm" and self.action == CLEAR_PIN and self.found is not None:
            staff_id, unit = self.staff_id, self.found.unit
            self.history.append(self.step)
            self.step, self.error = "working", None
            self.call("staff_clear_pin_lockout", lambda: self.services.staff_clear_pin_lockout(staff_id, unit),
                      self._pin_cleared, self.fail)
            self.changed()
        elif self.step == "confirm" and self.card is not None:
            staff_id, uid, action, language = self.staff_id, self.card.card_uid, self.action, self.language
            reason = self.t(REASONS[self.reason])  # stored as the staff member read it
            self.history.append(self.step)
            self.step, self.error = "working", None
            self.call("staff_change_card", lambda: self.services.staff_change_card(staff_id, uid, action, reason,
                                                                                   language), self._done, self.fail)
            self.changed()
        elif self.step in ("done", "failed") and self.found is not None and self.action == CLEAR_PIN:
            self._look_up(unit=self.found.unit)
        elif self.step in ("done", "failed") and self.found is not None:
            self._look_up(unit=self.found.unit, then_card=self.card.card_uid if self.card else "")
        elif self.step == "failed":
            self.loaded()
            self.changed()

    def _done(self, result: CardActionResult) -> None:
        self.result, self.step = result, "done"

    def _pin_cleared(self, found: StaffCardsView) -> None:
        self.found, self.step = found, "done"

    def fail(self, exc: errors.KioskError) -> None:
        hints = PIN_HINTS if self.action == CLEAR_PIN else HINTS
        hint = next((h for cls, h in hints if isinstance(exc, cls)), PLEASE_TRY_AGAIN)
        self.step, self.error = "failed", self.error_view(exc, hint)

    def progress(self) -> ProgressView | None:
        return ProgressView(self.t(N_("Please wait"))) if self.step in BUSY else None

    # --- view ---------------------------------------------------------------------------------------
    def _card_lines(self) -> tuple[tuple[str, str], ...]:
        card, found = self.card, self.found
        if card is None or found is None:
            return ()
        return ((self.t(N_("Unit")), found.unit), (self.t(N_("Card")), card_picker.card_name(card, self.language)),
                (self.t(N_("Card number")), card.card_no or card.card_uid),
                (self.t(N_("State")), card_picker.state_words(card, self.language)),
                (self.t(N_("Card balance")), self.money(card.balance_fen)))

    def _pin_lines(self) -> tuple[tuple[str, str], ...]:
        """The household's PIN state: locked until when, or how many wrong PINs in a row; nothing when clear."""
        found = self.found
        if found is None or not found.pin_lockout:
            return ()
        if found.pin_locked_until is not None:
            state = self.t(N_("Locked until {until} ({count} wrong PINs)"), until=self.when(found.pin_locked_until),
                           count=found.pin_failed)
        else:
            state = self.t(N_("{count} wrong PINs in a row"), count=found.pin_failed)
        return ((self.t(N_("Household PIN")), state),)

    def view(self) -> StepView:
        prompts = {"find": N_("Tap the card on the reader, or enter the unit number"),
                   "cards": N_("Which card? Please choose"), "card": N_("What would you like to do?"),
                   "reason": N_("Why? Please choose a reason"), "confirm": N_("Please check and confirm"),
                   "done": N_("Done. Thank you!"), "failed": N_("Sorry, this could not be done")}
        options: tuple[Option, ...] = ()
        lines: tuple[tuple[str, str], ...] = ()
        primary = ""
        if self.step == "find":
            primary = N_("Find")
        elif self.step == "cards" and self.found is not None:
            options = tuple(Option(c.card_uid, card_picker.card_button(c, self.language)) for c in self.found.cards)
            lines = ((self.t(N_("Unit")), self.found.unit),) + self._pin_lines()
            if self.found.pin_lockout:
                options += (Option(CLEAR_PIN, self.t(N_("Clear the PIN lock-out"))),)
            if not self.found.cards:
                lines += (("", self.t(N_("No card is linked to this household."))),)
        elif self.action == CLEAR_PIN and self.step in ("confirm", "working") and self.found is not None:
            lines = ((self.t(N_("Unit")), self.found.unit),) + self._pin_lines() + (
                (self.t(N_("Action")), self.t(N_("Clear the PIN lock-out"))),)
            primary = N_("Confirm") if self.step == "confirm" else ""
        elif self.action == CLEAR_PIN and self.step == "done" and self.found is not None:
            lines = ((self.t(N_("Unit")), self.found.unit),
                     (self.t(N_("Household PIN")), self.t(N_("Not locked: the resident can sign in again"))))
            primary = N_("Done")
        elif self.step == "card":
            options, lines = self._actions(), self._card_lines()
        elif self.step == "reason":
            options = tuple(Option(k, self.t(v)) for k, v in REASONS.items())
            lines = self._card_lines() + ((self.t(N_("Action")), self.t(ACTIONS[self.action])),)
        elif self.step in ("confirm", "working"):
            lines = self._card_lines() + ((self.t(N_("Action")), self.t(ACTIONS[self.action])),
                                          (self.t(N_("Reason")), self.t(REASONS[self.reason])))
            primary = N_("Confirm") if self.step == "confirm" else ""
        elif self.step == "done" and self.result is not None:
            r = self.result
            lines = ((self.t(N_("Card number")), r.card_uid),
                     (self.t(N_("State")), self.t(card_picker.CARD_STATUS_LABELS[r.status])))
            if r.receipt_number:
                lines += ((self.t(N_("Receipt number")), r.receipt_number),)
            primary = N_("Done")
        elif self.step == "failed":
            primary = N_("Try again")
        return StepView(self.step, self.t(self.title), self.t(prompts.get(self.step, "")), options=options,
                        lines=lines, entry=self.unit if self.step == "find" else "", keypad=self.step == "find",
                        keypad_dash=self.step == "find", primary=self.t(primary) if primary else "",
                        primary_enabled=self.step != "find" or bool(self.unit), progress=self.progress(),
                        error=self.error)
