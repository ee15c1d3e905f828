"""Card states a person changes outside the resident's card page: a found card unblocked by tapping it with the
household PIN, and staff lifting a loss, freezing or unfreezing a card with a reason (audited).

The states (kiosk.domain.terms.CardStatus): 挂失 LOST blocks a card everywhere at once; 冻结 FROZEN is a temporary
block asked for by the resident (lifted by the resident) or set by staff (lifted by staff); REPLACED is a lost card
whose replacement was issued: its value moved to the new card and it can never be unblocked.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kiosk.domain.terms import CardStatus
from kiosk.errors import CardBlocked, CardFrozenByStaff, CardUnknown, InvalidEntry, NotFound
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Card, Household, utcnow
from kiosk.services import cards, charges, households
from kiosk.services.payments import mask_unit
from kiosk.services.receipts import Till

STAFF_ACTIONS = ("lift_loss", "freeze", "unfreeze")


@dataclass(frozen=True)
class Unblocked:
    identity: households.HouseholdIdentity
    card: cards.CardIdentity  # now in use
    result: cards.CardActionResult  # with the receipt number


def unblock_found_card(factory: sessionmaker[Session], till: Till, *, uid: str, pin: str, language: str,
                       now: datetime | None = None) -> Unblocked:
    """The resident tapped their lost (or self-frozen) card and typed the household PIN: holding the card proves it
    was found, so it is usable again (解挂 / 解冻) and the resident is signed in with it.

    Raises CardUnknown, CardReplaced (a replacement was issued: never), AlreadyDone (the card is in use),
    CardFrozenByStaff (staff lift it), WrongPin / AccountLocked (the household's one PIN lock-out, counted in its
    own committed transaction before the error is raised)."""
    now = now or utcnow()
    with unit_of_work(factory) as session:
        card = cards.blocked_card(session, uid)
        if card.status == CardStatus.FROZEN and card.frozen_by_staff:
            raise CardFrozenByStaff(card.card_no)
        charges.refuse_flagged(card)  # a flagged card comes back only through a staff repair
        hh = session.scalars(select(Household).where(Household.id == card.household_id).with_for_update()).one()
        if hh.site_id != till.site_id:
            raise CardUnknown(uid)
        if not hh.pin_hash:  # no PIN to prove it: staff lift it
            raise CardBlocked(card.card_no)
        error = households.check_household_pin(session, hh, pin, now)
        if error is None:
            actor = f"card:{card.uid_hex}"
            if card.status == CardStatus.LOST:
                result = cards.lift_loss(session, till, household_id=hh.id, card_id=card.id, language=language,
                                         actor=actor, now=now)
            else:
                result = cards.unfreeze_card(session, till, household_id=hh.id, card_id=card.id, language=language,
                                             actor=actor, now=now)
            identity = households.HouseholdIdentity(hh.id, hh.site_id, hh.unit_no, mask_unit(hh.unit_no),
                                                    households.household_tier(session, hh.id))
            unblocked = Unblocked(identity, cards.identify_card(session, card.uid_hex), result)
    if error is not None:
        raise error
    return unblocked


# --- staff -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StaffCardRow:
    card_id: int
    uid_hex: str
    card_no: str
    kind: str  # CardKind
    status: str  # CardStatus (replaced cards included: staff see why they can never come back)
    frozen_by_staff: bool
    plate: str
    balance_fen: int


@dataclass(frozen=True)
class StaffCardList:
    household_id: int
    unit_no: str
    cards: tuple[StaffCardRow, ...]


def staff_card_list(session: Session, site_id: int, *, uid: str | None = None,
                    unit_no: str | None = None) -> StaffCardList:
    """Every card of the household of a tapped card, or of a unit number typed by staff. Raises CardUnknown,
    NotFound."""
    if uid:
        card = cards.card_by_uid(session, uid)
        if card is None:
            raise CardUnknown(uid)
        hh = session.get(Household, card.household_id)
    else:
        hh = session.scalars(select(Household).where(Household.site_id == site_id,
                                                     Household.unit_no == (unit_no or "").strip())).one_or_none()
    if hh is None or hh.site_id != site_id:
        raise NotFound(f"unit {unit_no or uid}")
    rows = session.scalars(select(Card).where(Card.household_id == hh.id).order_by(Card.id)).all()
    return StaffCardList(hh.id, hh.unit_no, tuple(
        StaffCardRow(c.id, c.uid_hex, c.card_no, c.kind, c.status, bool(c.frozen_by_staff), c.plate or "",
                     cards.card_balance(session, c.id)) for c in rows))


def staff_change_card(session: Session, till: Till, *, actor: str, uid: str, action: str, reason: str,
                      language: str) -> cards.CardActionResult:
    """Staff lift a loss (解挂), freeze (冻结) or unfreeze (解冻) a card, always with a reason; the audit row names
    the staff member (`actor`) and the reason. A REPLACED card raises CardReplaced: it can never be unblocked."""
    if action not in STAFF_ACTIONS:
        raise InvalidEntry(f"card action {action!r}", field="action")
    if not reason.strip():
        raise InvalidEntry("reason", field="reason")
    card = cards.card_by_uid(session, uid)
    if card is None:
        raise CardUnknown(uid)
    if action == "lift_loss":
        return cards.lift_loss(session, till, household_id=card.household_id, card_id=card.id, language=language,
                               actor=actor, by_staff=True, reason=reason)
    if action == "freeze":
        return cards.freeze_card(session, card_id=card.id, actor=actor, by_staff=True, reason=reason)
    return cards.unfreeze_card(session, till, household_id=card.household_id, card_id=card.id, language=language,
                               actor=actor, by_staff=True, reason=reason)
