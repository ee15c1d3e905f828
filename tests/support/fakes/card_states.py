"""The fake's card states: the resident's freeze, a found card unblocked by tap + household PIN, staff lift / freeze /
unfreeze with a reason (only what the flow tests need; the real rules are proven in tests/services)."""
from __future__ import annotations

from kiosk import errors
from kiosk.flows.records import CardActionResult, CardStatus, CardView, Identity, StaffCardsView, UnblockResult


class FakeCardStatesMixin:
    def freeze_card(self, household_id: str, card_uid: str, language: str) -> CardActionResult:
        self._enter("freeze_card")
        with self._lock:
            card = self._card_of(household_id, card_uid)
            if card.status is not CardStatus.ACTIVE:
                raise errors.CardBlocked(card_uid) if card.status is CardStatus.LOST else errors.AlreadyDone(card_uid)
            card.status, card.frozen_by_staff = CardStatus.FROZEN, False
            return CardActionResult(card_uid, card.status, "", 0, card.balance_fen)

    def unblock_found_card(self, card_uid: str, pin: str, language: str) -> UnblockResult:
        self._enter("unblock_found_card")
        with self._lock:
            card = self.cards.get(card_uid.upper())
            if card is None:
                raise errors.CardUnknown(card_uid)
            if card.status is CardStatus.REPLACED:
                raise errors.CardReplaced(card_uid)
            if card.status is CardStatus.ACTIVE:
                raise errors.AlreadyDone(card_uid)
            if card.frozen_by_staff:
                raise errors.CardFrozenByStaff(card_uid)
            household = self.households[card.household_id]
            if household.pin != pin:
                raise errors.WrongPin(remaining=3)
            kind = "card_loss_lifted" if card.status is CardStatus.LOST else "card_unfreeze"
            card.status = CardStatus.ACTIVE
            number = self._receipt(household.household_id, kind, 0, "", card.uid)
            identity = Identity(household.household_id, household.unit_label, household.tier, card.uid, card.status)
            return UnblockResult(identity, CardActionResult(card.uid, card.status, number, 0, card.balance_fen))

    def staff_household_cards(self, staff_id: str, card_uid: str | None = None,
                              unit: str | None = None) -> StaffCardsView:
        self._enter("staff_household_cards")
        self._staff(staff_id, "household_cards")
        with self._lock:
            if card_uid:
                card = self.cards.get(card_uid.upper())
                if card is None:
                    raise errors.CardUnknown(card_uid)
                household = self.households[card.household_id]
            else:
                household = next((h for h in self.households.values() if h.unit == (unit or "").strip()), None)
                if household is None:
                    raise errors.NotFound(unit or "")
            return StaffCardsView(household.household_id, household.unit, tuple(
                CardView(c.uid, c.kind, c.status, c.balance_fen, c.plate, c.frozen_by_staff)
                for c in self.cards.values() if c.household_id == household.household_id),
                household.pin_failed, household.pin_locked_until)

    def staff_clear_pin_lockout(self, staff_id: str, unit: str) -> StaffCardsView:
        self._enter("staff_clear_pin_lockout")
        self._staff(staff_id, f"household.lockout_cleared:{unit}")
        with self._lock:
            household = next((h for h in self.households.values() if h.unit == unit.strip()), None)
            if household is None:
                raise errors.NotFound(unit)
            if not household.pin_failed and household.pin_locked_until is None:
                raise errors.AlreadyDone(unit)
            household.pin_failed, household.pin_locked_until = 0, None
        return self.staff_household_cards(staff_id, unit=unit)

    def staff_change_card(self, staff_id: str, card_uid: str, action: str, reason: str,
                          language: str) -> CardActionResult:
        self._enter("staff_change_card")
        self._staff(staff_id, f"card.{action}:{reason}")
        with self._lock:
            card = self.cards.get(card_uid.upper())
            if card is None:
                raise errors.CardUnknown(card_uid)
            if not reason.strip():
                raise errors.InvalidEntry("reason", field="reason")
            if card.status is CardStatus.REPLACED:
                raise errors.CardReplaced(card_uid)
            wanted = {"lift_loss": CardStatus.LOST, "freeze": CardStatus.ACTIVE, "unfreeze": CardStatus.FROZEN}[action]
            if card.status is not wanted:
                raise errors.CardBlocked(card_uid) if card.status is CardStatus.LOST else errors.AlreadyDone(card_uid)
            card.status = CardStatus.FROZEN if action == "freeze" else CardStatus.ACTIVE
            card.frozen_by_staff = action == "freeze"
            number = "" if action == "freeze" else self._receipt(card.household_id, "card_unfreeze", 0, "", card.uid)
            return CardActionResult(card.uid, card.status, number, 0, card.balance_fen)
