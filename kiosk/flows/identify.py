"""Identify journey: a card tap, or unit number then PIN on the keypad; refused cards say why and what to do;
a staff card goes on to the staff PIN pad."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kiosk import errors
from kiosk.flows.base import ErrorView, Flow, ProgressView
from kiosk.flows.records import Identity, UnblockResult
from kiosk.i18n import N_

MAX_UNIT_LEN = 8
MAX_PIN_LEN = 12  # household PINs are 6-12 digits (kiosk.services.pins); one stored before that may be 4 or 5
MIN_PIN_LEN = 4

# What to do next, per refusal (shown under the reason).
REFUSAL_HINTS: dict[type[errors.KioskError], str] = {
    errors.CardBlocked: N_("Please ask staff to unblock or replace it."),
    errors.CardFrozen: N_("Sign in with your unit number and PIN, then choose Unfreeze card."),
    errors.CardFrozenByStaff: N_("Staff at the service centre can help."),
    errors.CardReplaced: N_("A new card was issued in its place, so this card can never be unblocked. Please use "
                            "the new card; staff can help if you do not have it."),
    errors.CardUnknown: N_("Please ask staff to register your card."),
    errors.NotFound: N_("Check the unit number, for example 1-0302."),
    errors.WrongPin: N_("Please enter the PIN again."),
    errors.AccountLocked: N_("You can try again after that time, or staff at the service centre can clear the lock "
                             "now."),
}


class IdentifyStep(StrEnum):
    CHOOSE = "choose"  # waiting for a card, or the keypad
    UNIT = "unit"
    PIN = "pin"
    CHECKING = "checking"
    REFUSED = "refused"


@dataclass(frozen=True)
class IdentifyView:
    step: IdentifyStep
    title: str
    prompt: str
    entry: str  # what the keypad shows (the PIN masked)
    can_submit: bool
    progress: ProgressView | None
    error: ErrorView | None


class IdentifyFlow(Flow):
    route = "identify"

    def __init__(self, ctx, card_uid: str | None = None, then: str = "household", **params) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, **params)
        self.then = then
        self.step = IdentifyStep.CHOOSE
        self.unit = ""
        self.pin = ""
        self.error: ErrorView | None = None
        self._card_uid = card_uid
        self.found_uid = ""  # a lost or frozen card tapped: its PIN pad unblocks it (possession proves it was found)
        self.found_lost = False

    def start(self) -> None:
        if self._card_uid:
            self.card_tapped(self._card_uid)

    # --- card ---------------------------------------------------------------------------------
    def card_tapped(self, card_uid: str) -> None:
        if self.step is IdentifyStep.CHECKING:
            return
        self.step, self.error, self.found_uid = IdentifyStep.CHECKING, None, ""
        self.call("identify_card", lambda: self.services.identify_card(card_uid), self._identified,
                  lambda exc: self._card_refused(card_uid, exc))
        self.changed()

    def _card_refused(self, card_uid: str, exc: errors.KioskError) -> None:
        if isinstance(exc, errors.StaffCardTapped):  # a staff badge: straight to the staff PIN pad, card read
            self.step = IdentifyStep.CHOOSE
            self.ctx.navigate("staff_unlock", card_uid=card_uid)
            return
        if isinstance(exc, (errors.CardBlocked, errors.CardFrozen)):  # found it? the household PIN unblocks it
            self.found_uid, self.found_lost = card_uid, isinstance(exc, errors.CardBlocked)
            self.step, self.pin, self.error = IdentifyStep.PIN, "", None
            return
        self._refused(exc)

    # --- keypad ---------------------------------------------------------------------------------
    def use_keypad(self) -> None:
        self.step, self.unit, self.pin, self.error, self.found_uid = IdentifyStep.UNIT, "", "", None, ""
        self.changed()

    def key(self, char: str) -> None:
        """A keypad key: digits, '-' (unit only), 'back', 'clear'."""
        if self.step is IdentifyStep.UNIT:
            self.unit = _edit(self.unit, char, MAX_UNIT_LEN, allow_dash=True)
        elif self.step is IdentifyStep.PIN:
            self.pin = _edit(self.pin, char, MAX_PIN_LEN, allow_dash=False)
        self.changed()

    def submit(self) -> None:
        if self.step is IdentifyStep.UNIT and self.unit:
            self.step, self.error = IdentifyStep.PIN, None
        elif self.step is IdentifyStep.PIN and len(self.pin) >= MIN_PIN_LEN and self.found_uid:
            self.step, self.error = IdentifyStep.CHECKING, None
            uid, pin, language = self.found_uid, self.pin, self.language
            self.call("unblock_found_card", lambda: self.services.unblock_found_card(uid, pin, language),
                      self._unblocked, self._refused)
        elif self.step is IdentifyStep.PIN and len(self.pin) >= MIN_PIN_LEN:
            self.step, self.error = IdentifyStep.CHECKING, None
            unit, pin = self.unit, self.pin
            self.call("identify_unit", lambda: self.services.identify_unit(unit, pin), self._identified, self._refused)
        self.changed()

    def back(self) -> None:
        if self.found_uid and self.step in (IdentifyStep.PIN, IdentifyStep.REFUSED):
            self.step, self.pin, self.error, self.found_uid = IdentifyStep.CHOOSE, "", None, ""
        elif self.step is IdentifyStep.PIN:
            self.step, self.pin = IdentifyStep.UNIT, ""
        elif self.step in (IdentifyStep.UNIT, IdentifyStep.REFUSED):
            self.step, self.unit, self.pin, self.error = IdentifyStep.CHOOSE, "", "", None
        else:
            self.ctx.navigate("attract")
            return
        self.changed()

    def cancel(self) -> None:
        super().cancel()
        self.step = IdentifyStep.CHOOSE
        self.changed()

    # --- results --------------------------------------------------------------------------------
    def _identified(self, identity: Identity) -> None:
        self.session.identity = identity
        self.pin = ""
        self.ctx.navigate(self.then)

    def _unblocked(self, result: UnblockResult) -> None:
        """The found card is in use again: signed in with it, the household page says so (with the receipt)."""
        self.session.identity = result.identity
        self.pin, self.found_uid = "", ""
        self.ctx.navigate("household", unblocked=result.action)

    def _refused(self, exc: errors.KioskError) -> None:
        hint = next((h for cls, h in REFUSAL_HINTS.items() if isinstance(exc, cls)), "")
        self.pin = ""
        if isinstance(exc, errors.WrongPin):
            self.step = IdentifyStep.PIN
        else:
            self.step = IdentifyStep.REFUSED
        self.error = self.error_view(exc, hint or N_("Please try again, or ask staff for help."))

    def view(self) -> IdentifyView:
        prompts = {
            IdentifyStep.CHOOSE: N_("Tap your card on the reader, or use the keypad"),
            IdentifyStep.UNIT: N_("Please enter your unit number, for example 1-0302"),
            IdentifyStep.PIN: N_("Please enter your PIN"),
            IdentifyStep.CHECKING: N_("Checking, please wait"),
            IdentifyStep.REFUSED: N_("Sorry, we could not sign you in"),
        }
        if self.found_uid and self.step is IdentifyStep.PIN:
            prompts[IdentifyStep.PIN] = N_("This card is reported lost. Found it? Enter your household PIN to unblock "
                                           "it") if self.found_lost else \
                N_("This card is frozen. Enter your household PIN to unfreeze it")
        entry = self.unit if self.step is IdentifyStep.UNIT else "●" * len(self.pin) if self.step is IdentifyStep.PIN else ""
        can_submit = (self.step is IdentifyStep.UNIT and bool(self.unit)) or (
            self.step is IdentifyStep.PIN and len(self.pin) >= MIN_PIN_LEN)
        progress = ProgressView(self.t(N_("Checking, please wait"))) if self.step is IdentifyStep.CHECKING else None
        return IdentifyView(self.step, self.t(N_("Sign in")), self.t(prompts[self.step]), entry, can_submit,
                            progress, self.error)


def _edit(text: str, char: str, limit: int, allow_dash: bool) -> str:
    if char == "back":
        return text[:-1]
    if char == "clear":
        return ""
    if len(text) >= limit:
        return text
    if char.isdigit() or (allow_dash and char == "-" and text and "-" not in text):
        return text + char
    return text
