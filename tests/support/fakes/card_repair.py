"""Staff card repair for FakeKioskServices: flagged cards, what each card holds next to the ledger, the rewrite."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kiosk import errors
from tests.support.fakes import data
from kiosk.flows.records import CardStatus
from kiosk.flows.repair_records import CardCheckView, CardRepairResult, FlaggedCardView
from kiosk.payments.control import PaymentControl

FLAGGED_DEMO_UID = "5EED0001"  # the card of household H4 (3-0808): holds more than the ledger gave it


@dataclass
class FakeCardData:
    """What a card holds, when it differs from the ledger (a card not listed agrees with it)."""

    value_fen: int | None
    counter: int | None
    mac_ok: bool
    record_ok: bool = True


class FakeCardRepairMixin:
    """Needs the attributes FakeKioskServices sets up (cards, households, staff, audit ...)."""

    cards: dict[str, data.FakeCard]
    households: dict[str, data.FakeHousehold]
    audit: list[tuple[str, str]]
    _lock: Any

    def _enter(self, method: str) -> None: ...  # provided by FakeKioskServices
    def now(self) -> datetime: ...
    def _staff(self, staff_id: str, action: str) -> None: ...

    def _init_card_repair(self) -> None:
        self.card_data: dict[str, FakeCardData] = {}
        self.card_counters: dict[str, int] = {}  # the ledger's counter per card (0 when missing)
        self.flags: dict[str, tuple[str, datetime]] = {}  # uid -> (reason, flagged at)
        self.households["H4"] = data.FakeHousehold("H4", "3-0808", "3栋-**08", "ordinary", "4321")
        self.cards[FLAGGED_DEMO_UID] = data.FakeCard(FLAGGED_DEMO_UID, "H4", CardStatus.ACTIVE, 1500)
        self.card_counters[FLAGGED_DEMO_UID] = 4
        self.flag_card(FLAGGED_DEMO_UID, FakeCardData(9900, 4, True),
                       "E4005 card holds 9900 fen at counter 4; the ledger says 1500 fen at 4")

    # --- test hooks -------------------------------------------------------------------------------
    def flag_card(self, uid: str, on_card: FakeCardData, reason: str) -> None:
        """Make a card hold something else than the ledger, flagged as the station would."""
        self.card_data[uid] = on_card
        self.flags[uid] = (reason, self.now() - timedelta(minutes=30))

    def refuse_flagged(self, uid: str) -> None:
        """identify_card's check: a flagged card is refused as the station refuses it at every tap."""
        flag = self.flags.get(uid.upper())
        if flag is not None:
            raise errors.CardFlagged(flag[0])

    # --- the facade -------------------------------------------------------------------------------
    def flagged_cards(self, staff_id: str) -> tuple[FlaggedCardView, ...]:
        self._enter("flagged_cards")
        with self._lock:
            self._staff(staff_id, "list flagged cards")
            out = [FlaggedCardView(uid, self._card_no(uid), "resident", self.households[self.cards[uid].household_id]
                                   .unit_label, reason, at) for uid, (reason, at) in self.flags.items()]
            return tuple(sorted(out, key=lambda f: f.flagged_at or datetime.min, reverse=True))

    @staticmethod
    def _card_no(uid: str) -> str:
        return f"0001-{int(uid, 16) % 1_000_000:06d}-01"

    def _usable(self, uid: str) -> data.FakeCard:
        card = self.cards.get(uid.upper())
        if card is None:
            raise errors.CardUnknown(uid)
        if card.status is CardStatus.LOST:
            raise errors.CardBlocked(uid)
        if card.status is CardStatus.REPLACED:
            raise errors.CardReplaced(uid)
        return card

    def check_card(self, staff_id: str, card_uid: str) -> CardCheckView:
        self._enter("check_card")
        with self._lock:
            self._staff(staff_id, f"check card {card_uid}")
            return self._check(self._usable(card_uid))

    def _check(self, card: data.FakeCard) -> CardCheckView:
        counter = self.card_counters.get(card.uid, 0)
        held = self.card_data.get(card.uid, FakeCardData(card.balance_fen, counter, True))
        reason = self.flags.get(card.uid, ("", None))[0]
        agrees = held.mac_ok and held.record_ok and (held.value_fen, held.counter) == (card.balance_fen, counter)
        return CardCheckView(card.uid, self._card_no(card.uid), "resident",
                             self.households[card.household_id].unit_label, reason,
                             held.value_fen is not None and held.record_ok, held.value_fen, held.counter,
                             held.mac_ok, held.record_ok, card.balance_fen, counter, 0, False,
                             bool(reason) or not agrees)

    def repair_card(self, staff_id: str, card_uid: str, control: PaymentControl | None = None) -> CardRepairResult:
        self._enter("repair_card")
        with self._lock:
            card = self._usable(card_uid)
            check = self._check(card)
            if not check.needs_repair:
                raise errors.AlreadyDone(f"card {card.uid} agrees with the ledger")
            if control is not None and control.cancelled:
                raise errors.CardWritePending(card.uid, reference=f"card {card.uid}")
            counter = max(check.card_counter or 0, check.ledger_counter) + 1
            self._staff(staff_id, f"repair card {card.uid}")
            self.card_data.pop(card.uid, None)
            self.flags.pop(card.uid, None)
            self.card_counters[card.uid] = counter
            return CardRepairResult(card.uid, check.card_no, card.balance_fen, check.card_value_fen or 0,
                                    card.balance_fen, check.card_counter or 0, counter, check.flag_reason, 0)
