"""The facade's staff card repair: the flagged list, a tapped card checked against the ledger, and the card
rewritten from the ledger (kiosk.cards.repair), every call audited with the staff member."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kiosk.domain.terms import StaffRole
from kiosk.errors import CardWriteUnsupported
from kiosk.payments.control import PaymentControl
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Household
from kiosk.services import audit, cards
from kiosk.services.payments import mask_unit

if TYPE_CHECKING:
    from kiosk.app_runtime.runtime import KioskRuntime
    from kiosk.cards.repair import CardRepairDesk, RepairCheck
    from kiosk.flows.repair_records import CardCheckView, CardRepairResult, FlaggedCardView

# Staff-only: the repair desk, its records and its service are imported on first use, not on the start's path to
# usable (docs/benchmarks-app.md, "Start to usable").


class CardRepairFacade:
    """Mixed into StaffFacade (uses its `_staff`)."""

    rt: KioskRuntime
    _staff: Callable[..., Any]

    def _desk(self) -> CardRepairDesk:
        from kiosk.cards.repair import CardRepairDesk

        station = self.rt.card_station
        if station is None or not station.can_write:
            raise CardWriteUnsupported("no card reader that can write cards is attached")
        return CardRepairDesk(station)

    def flagged_cards(self, staff_id: str) -> tuple[FlaggedCardView, ...]:
        from kiosk.flows.repair_records import FlaggedCardView
        from kiosk.services import card_repair

        who = self._staff(staff_id, StaffRole.STAFF, StaffRole.ADMIN)
        with unit_of_work(self.rt.db.factory) as s:
            rows = card_repair.flagged_cards(s, self.rt.till.site_id)
            audit.record(s, f"staff:{who.name}", "cards.flagged_listed", f"kiosk:{self.rt.till.kiosk_code}",
                         count=len(rows))
        return tuple(FlaggedCardView(f.uid_hex, f.card_no, f.kind, f.unit_masked, f.reason, f.flagged_at)
                     for f in rows)

    def _unit(self, card_id: int) -> str:
        with unit_of_work(self.rt.db.factory) as s:
            card = cards.get_card(s, card_id)
            hh = s.get(Household, card.household_id)
            return mask_unit(hh.unit_no) if hh is not None else ""

    def check_card(self, staff_id: str, card_uid: str) -> CardCheckView:
        who = self._staff(staff_id, StaffRole.STAFF, StaffRole.ADMIN)
        check = self._desk().check(card_uid)
        with unit_of_work(self.rt.db.factory) as s:
            audit.record(s, f"staff:{who.name}", "card.checked", check.card_no, uid=check.uid_hex,
                         mac_ok=check.reading.mac_ok, card_value_fen=check.reading.value_fen,
                         card_counter=check.reading.counter, ledger_value_fen=check.ledger_value_fen,
                         ledger_counter=check.ledger_counter, reason=check.flag_reason)
        return self._view(check)

    def _view(self, c: RepairCheck) -> CardCheckView:
        from kiosk.flows.repair_records import CardCheckView

        r = c.reading
        return CardCheckView(c.uid_hex, c.card_no, c.kind, self._unit(c.card_id), c.flag_reason,
                             r.record is not None and r.value_fen is not None, r.value_fen, r.counter, r.mac_ok,
                             c.record_matches, c.ledger_value_fen, c.ledger_counter, c.open_writes, c.repair_pending,
                             c.needs_repair)

    def repair_card(self, staff_id: str, card_uid: str, control: PaymentControl | None = None) -> CardRepairResult:
        from kiosk.flows.repair_records import CardRepairResult

        who = self._staff(staff_id, StaffRole.STAFF, StaffRole.ADMIN)
        out = self._desk().repair(card_uid, f"staff:{who.name}", control)
        if out.resolved_writes:
            self.rt.receipt_issued()  # a top-up settled by the ledger prints its receipt
        return CardRepairResult(out.uid_hex, out.card_no, out.value_fen, out.old_value_fen, out.value_fen,
                                out.old_counter, out.counter, out.flag_reason, out.resolved_writes)
