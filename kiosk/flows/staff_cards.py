"""Staff repair of flagged cards: the flagged list, a card tapped here checked against the ledger, and the card
rewritten from the ledger after a confirmation (the generic steps screen).

list -> (card tapped) checking -> card (card vs ledger, the flag reason) -> confirm -> repairing -> done | failed.
A card tapped while this flow is open comes here (the app gives taps to the flow's `card_tapped`), never to
the resident sign-in.
"""
from __future__ import annotations

from typing import Any

from kiosk import errors
from kiosk.domain.terms import CARD_KIND_LABELS, CardKind
from kiosk.flows.base import PLEASE_TRY_AGAIN, ProgressView
from kiosk.flows.repair_records import CardCheckView, CardRepairResult, FlaggedCardView
from kiosk.flows.staff_tools import StaffStepFlow
from kiosk.flows.steps import StepView
from kiosk.i18n import N_

BUSY = ("loading", "checking", "repairing")
FAILED = "[ ! ] "  # failures are said in words and marked, never by colour alone

HINTS: tuple[tuple[type[errors.KioskError], str], ...] = (
    (errors.CardForeignKeys, N_("Issue a replacement card to the household at the service desk.")),
    (errors.CardWritePending, N_("Put the card on the reader again to check it, then rewrite it again. "
                                 "The repair is finished, never applied twice.")),
    (errors.CardRemoved, N_("Put the card back on the reader to check it again.")),
    (errors.NoCardPresented, N_("Put the card back on the reader to check it again.")),
    (errors.CardBlocked, N_("This card cannot be repaired: it is reported lost or replaced.")),
    (errors.CardReplaced, N_("This card cannot be repaired: it is reported lost or replaced.")),
    (errors.CardUnknown, N_("This card is not one of this site's cards.")),
    (errors.AlreadyDone, N_("The card agrees with the ledger. Nothing to repair.")),
    (errors.RequestTimedOut, N_("The card reader did not finish in time. Tap the card again to check it; "
                                "a repair is never applied twice.")),
    (errors.DeviceError, N_("Check the card reader under Devices on the maintenance page.")),
    (errors.CardWriteUnsupported, N_("Check the card reader under Devices on the maintenance page.")),
)

# what a flag's code means, in the staff's language; the stored detail (English, technical) follows it
FLAG_CODES = {errors.CardTampered.code: N_("data failed the security check"),
              errors.CardRolledBack.code: N_("restored to an older copy")}


class CardRepairFlow(StaffStepFlow):
    """Flagged cards; tap one to see the card next to the ledger; rewrite it from the ledger."""

    route = "staff_cards"
    title = N_("Card repair")

    def __init__(self, ctx, **params: Any) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, **params)
        self.flagged: tuple[FlaggedCardView, ...] = ()
        self.uid = ""
        self.check: CardCheckView | None = None
        self.result: CardRepairResult | None = None

    # --- list -----------------------------------------------------------------------------------
    def loaded(self) -> None:
        staff_id = self.staff_id
        self.step, self.error, self.history = "loading", None, []
        self.call("flagged_cards", lambda: self.services.flagged_cards(staff_id), self._listed, self.fail)

    def _listed(self, flagged: tuple[FlaggedCardView, ...]) -> None:
        self.flagged, self.step = flagged, "list"

    # --- a card on the reader ---------------------------------------------------------------------
    def card_tapped(self, uid: str) -> None:
        uid = uid.upper()
        if self.step in BUSY or (self.step in ("card", "confirm", "done") and uid == self.uid):
            return  # the card being worked on, seen again: nothing new
        staff_id = self.staff_id
        self.uid, self.check, self.result, self.error, self.control = uid, None, None, None, None
        self.history = ["list"]
        self.step = "checking"
        self.call("check_card", lambda: self.services.check_card(staff_id, uid), self._checked, self.fail,
                  on_cancel=self._to_list)
        self.changed()

    def _checked(self, check: CardCheckView) -> None:
        self.check, self.step = check, "card"

    def _to_list(self) -> None:
        self.loaded()

    # --- rewrite -------------------------------------------------------------------------------------
    def primary(self) -> None:
        if self.step == "card" and self.check is not None:
            if self.check.needs_repair:
                self.go_step("confirm")
            else:
                self.loaded()
        elif self.step == "confirm" and self.check is not None:
            self._repair()
        elif self.step in ("done", "failed", "list"):
            self.loaded()
        self.changed()

    def _repair(self) -> None:
        staff_id, uid = self.staff_id, self.uid
        control = self.new_payment_control()  # "put the card back" while the card is away; cancel stops waiting
        self.history.append(self.step)
        self.step, self.error = "repairing", None
        self.call("repair_card", lambda: self.services.repair_card(staff_id, uid, control), self._repaired,
                  self.fail, timeout_s=self.ctx.payment_timeout_s, on_cancel=self._to_list)

    def _repaired(self, result: CardRepairResult) -> None:
        self.result, self.step = result, "done"

    def fail(self, exc: errors.KioskError) -> None:
        hint = next((h for cls, h in HINTS if isinstance(exc, cls)), PLEASE_TRY_AGAIN)
        self.step, self.error = "failed", self.error_view(exc, hint)

    def back(self) -> None:
        if self.step in ("list", "loading"):
            self.ctx.navigate("staff_home")
        elif self.step == "confirm":
            self.step = "card"
            self.changed()
        else:
            if self.job is not None and not self.job.finished:
                self.cancel()
                return
            self.loaded()
            self.changed()

    # --- view -----------------------------------------------------------------------------------------
    def progress(self) -> ProgressView | None:
        if self.step == "loading":
            return ProgressView(self.t(N_("Loading, please wait")))
        if self.step == "checking":
            return ProgressView(self.t(N_("Reading the card, please wait")))
        if self.step == "repairing":
            return ProgressView(self.t(N_("Rewriting the card. Keep it on the reader")), can_cancel=False)
        return None

    def _kind(self, kind: str) -> str:
        return self.t(CARD_KIND_LABELS[CardKind(kind)]) if kind in CardKind.__members__.values() else kind

    def _state(self, value_fen: int | None, counter: int | None) -> str:
        if value_fen is None:
            return FAILED + self.t(N_("Cannot be read"))
        return self.t(N_("{amount} · counter {counter}"), amount=self.money(value_fen),
                      counter="-" if counter is None else counter)

    def _reason(self, reason: str) -> str:
        """"E4005 MAC does not match" -> "E4005 data failed the security check (MAC does not match)"."""
        if not reason:
            return self.t(N_("Not flagged"))
        code, _, detail = reason.partition(" ")
        if code not in FLAG_CODES:
            return reason
        return f"{code} {self.t(FLAG_CODES[code])}" + (f" ({detail})" if detail else "")

    def _yes_no(self, ok: bool, yes: str, no: str) -> str:
        return self.t(yes) if ok else FAILED + self.t(no)

    def _flagged_lines(self) -> tuple[tuple[str, str], ...]:
        if not self.flagged:
            return (("", self.t(N_("No card is flagged."))),)
        return tuple((f"{f.unit_masked} · {f.card_no}", " · ".join(
            [self._kind(f.kind), self._reason(f.reason)] + ([self.when(f.flagged_at)] if f.flagged_at else []))) for f in self.flagged)

    def _card_lines(self, c: CardCheckView) -> tuple[tuple[str, str], ...]:
        lines = ((self.t(N_("Card number")), c.card_no), (self.t(N_("Unit")), c.unit_masked),
                 (self.t(N_("Card kind")), self._kind(c.kind)),
                 (self.t(N_("Flag reason")), self._reason(c.flag_reason)),
                 (self.t(N_("On the card")), self._state(c.card_value_fen, c.card_counter)),
                 (self.t(N_("Security check (MAC)")), self._yes_no(c.mac_ok, N_("Passed"), N_("Failed"))),
                 (self.t(N_("Card record")), self._yes_no(c.record_matches, N_("Matches the ledger"),
                                                          N_("Does not match the ledger"))),
                 (self.t(N_("In the ledger")), self._state(c.ledger_value_fen, c.ledger_counter)))
        if c.pending_writes:
            lines += ((self.t(N_("Unfinished card writes")), str(c.pending_writes)),)
        if c.repair_pending:
            lines += (("", self.t(N_("An earlier repair of this card was interrupted; rewriting finishes it."))),)
        if not c.needs_repair:
            lines += (("", self.t(N_("The card agrees with the ledger. Nothing to repair."))),)
        return lines

    def view(self) -> StepView:
        prompts = {"loading": N_("Loading, please wait"),
                   "list": N_("Flagged cards. Put a card on the reader to check it"),
                   "checking": N_("Reading the card, please wait"), "card": N_("The card and the ledger"),
                   "confirm": N_("Rewrite this card from the ledger?"),
                   "repairing": N_("Rewriting the card. Keep it on the reader"),
                   "failed": N_("Sorry, this could not be done")}
        lines: tuple[tuple[str, str], ...] = ()
        prompt = self.t(prompts.get(self.step, ""))
        if self.step == "list":
            lines = self._flagged_lines()
        elif self.step == "card" and self.check is not None:
            lines = self._card_lines(self.check)
        elif self.step == "confirm" and self.check is not None:
            c = self.check
            lines = ((self.t(N_("Card number")), c.card_no),
                     (self.t(N_("The card will hold")), self.money(c.ledger_value_fen)),
                     (self.t(N_("On the card now")), self._state(c.card_value_fen, c.card_counter)),
                     ("", self.t(N_("The card's contents are replaced by the ledger's balance. The ledger "
                                    "does not change. Keep the card on the reader until it is done."))))
        elif self.step == "done" and self.result is not None:
            r = self.result
            prompt = self.t(N_("Card repaired: balance {amount}"), amount=self.money(r.balance_fen))
            lines = ((self.t(N_("Card number")), r.card_no), (self.t(N_("Card balance")), self.money(r.balance_fen)),
                     (self.t(N_("Counter")), f"{r.old_counter} → {r.new_counter}"),
                     (self.t(N_("Flag reason")), self._reason(r.flag_reason)),
                     ("", self.t(N_("The card can be used again."))))
            if r.resolved_writes:
                lines += ((self.t(N_("Unfinished card writes")), str(r.resolved_writes)),)
        primary = ""
        if self.step == "card" and self.check is not None:
            primary = N_("Rewrite from ledger") if self.check.needs_repair else N_("Back to the list")
        elif self.step == "confirm":
            primary = N_("Confirm rewrite")
        elif self.step in ("done", "failed"):
            primary = N_("Back to the list")
        elif self.step == "list":
            primary = N_("Refresh")
        return self.base_view(prompt, lines=lines, primary=self.t(primary) if primary else "")
