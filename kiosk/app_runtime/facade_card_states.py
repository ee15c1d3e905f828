"""The facade's card states: the resident's freeze, a found card unblocked by tap + household PIN, and staff lifting
a loss, freezing or unfreezing a card with a reason (kiosk.services.card_states)."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kiosk.domain.terms import CardKind, CardStatus, StaffRole
from kiosk.errors import StaffCardTapped
from kiosk.flows import records as r
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Household, utcnow
from kiosk.services import audit, cards, households, staff

if TYPE_CHECKING:
    from kiosk.app_runtime.runtime import KioskRuntime


class CardStatesFacade:
    """Mixed into the facade (uses StaffFacade's `_staff`)."""

    rt: KioskRuntime
    _staff: Callable[..., Any]

    def freeze_card(self, household_id: str, card_uid: str, language: str) -> r.CardActionResult:
        with unit_of_work(self.rt.db.factory) as s:
            card = cards.card_by_uid(s, card_uid)
            card_id = card.id if card is not None else -1
            res = cards.freeze_card(s, card_id=card_id, household_id=int(household_id),
                                    actor=f"kiosk:{self.rt.till.kiosk_code}")
            balance = cards.card_balance(s, card_id)
        return r.CardActionResult(card_uid, r.CardStatus(res.status), "", 0, balance)

    def unblock_found_card(self, card_uid: str, pin: str, language: str) -> r.UnblockResult:
        with unit_of_work(self.rt.db.factory) as s:  # a staff badge is never a resident's card
            if staff.staff_card_holder(s, card_uid) is not None:
                raise StaffCardTapped(card_uid)
        from kiosk.services import card_states  # imported on first use, not on the start's path

        out = card_states.unblock_found_card(self.rt.db.factory, self.rt.till, uid=card_uid, pin=pin,
                                             language=language)
        self.rt.receipt_issued()
        identity = r.Identity(str(out.identity.household_id), out.identity.unit_masked, out.identity.tier,
                              out.card.uid_hex, r.CardStatus(out.card.status))
        return r.UnblockResult(identity, r.CardActionResult(out.card.uid_hex, r.CardStatus(out.result.status),
                                                            out.result.receipt_number, 0, out.card.balance_fen))

    def staff_household_cards(self, staff_id: str, card_uid: str | None = None,
                              unit: str | None = None) -> r.StaffCardsView:
        from kiosk.services import card_states  # staff-only: imported on first use

        who = self._staff(staff_id, StaffRole.STAFF, StaffRole.ADMIN)
        with unit_of_work(self.rt.db.factory) as s:
            found = card_states.staff_card_list(s, self.rt.till.site_id, uid=card_uid, unit_no=unit)
            audit.record(s, f"staff:{who.name}", "cards.household_listed", found.unit_no,
                         by="card" if card_uid else "unit", count=len(found.cards))
            lockout = households.pin_lockout(s.get(Household, found.household_id))
        return r.StaffCardsView(str(found.household_id), found.unit_no, tuple(
            r.CardView(c.uid_hex, CardKind(c.kind), CardStatus(c.status), c.balance_fen, c.plate, c.frozen_by_staff,
                       c.card_no)
            for c in found.cards), lockout.failed, lockout.locked_until if lockout.locked(utcnow()) else None)

    def staff_clear_pin_lockout(self, staff_id: str, unit: str) -> r.StaffCardsView:
        who = self._staff(staff_id, StaffRole.STAFF, StaffRole.ADMIN)
        with unit_of_work(self.rt.db.factory) as s:
            households.clear_pin_lockout(s, self.rt.till.site_id, unit, actor=f"staff:{who.name}")
        return self.staff_household_cards(staff_id, unit=unit)

    def staff_change_card(self, staff_id: str, card_uid: str, action: str, reason: str,
                          language: str) -> r.CardActionResult:
        from kiosk.services import card_states  # staff-only: imported on first use

        who = self._staff(staff_id, StaffRole.STAFF, StaffRole.ADMIN)
        with unit_of_work(self.rt.db.factory) as s:
            res = card_states.staff_change_card(s, self.rt.till, actor=f"staff:{who.name}", uid=card_uid,
                                                action=action, reason=reason, language=language)
            balance = cards.card_balance(s, res.card_id)
        if res.receipt_number:
            self.rt.receipt_issued()
        return r.CardActionResult(card_uid.upper(), r.CardStatus(res.status), res.receipt_number, 0, balance)
