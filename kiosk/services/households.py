"""A household's outstanding bills and summary, and identification by unit number + PIN with lock-out."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kiosk.domain.site_clock import site_today
from kiosk.domain.terms import FEE_LABELS, AccountKind, BillStatus, CardStatus, FeeKind
from kiosk.errors import AlreadyDone, NotFound
from kiosk.i18n import translate
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Bill, Card, Household, Resident, utcnow
from kiosk.services import audit, ledger, pins
from kiosk.services.charges import household as get_household
from kiosk.services.payments import mask_unit

MIN_HOUSEHOLD_PIN = 6  # for PINs set from now on; a shorter PIN stored earlier keeps working until it is changed


@dataclass(frozen=True)
class BillView:
    bill_id: int
    kind: str  # FeeKind
    label: str  # translated
    period: str
    amount_fen: int
    due_date: date
    overdue: bool


@dataclass(frozen=True)
class CardBalance:
    card_id: int
    card_no: str
    kind: str  # CardKind
    status: str  # CardStatus
    balance_fen: int  # ledger truth
    uid_hex: str = ""
    plate: str = ""  # vehicle IC cards
    frozen_by_staff: bool = False


@dataclass(frozen=True)
class HouseholdSummary:
    household_id: int
    unit_no: str
    unit_masked: str
    holder_name: str
    tier: str  # the household's highest member tier
    bills: tuple[BillView, ...]
    total_due_fen: int
    cards: tuple[CardBalance, ...]
    credit_fen: int


@dataclass(frozen=True)
class HouseholdIdentity:
    household_id: int
    site_id: int
    unit_no: str
    unit_masked: str
    tier: str


_TIER_RANK = {"ordinary": 0, "silver": 1, "gold": 2, "institutional": 3}


def household_tier(session: Session, household_id: int) -> str:
    """The highest tier among the household's residents ('ordinary' when none is recorded)."""
    tiers = session.scalars(select(Resident.tier).where(Resident.household_id == household_id)).all()
    return max(tiers, key=lambda t: _TIER_RANK.get(t, 0), default="ordinary")


def outstanding_bills(session: Session, household_id: int, language: str = "zh_Hans",
                      today: date | None = None) -> tuple[BillView, ...]:
    """Open bills, oldest due first; served by the (household_id, status) index."""
    today = today or site_today()
    rows = session.scalars(select(Bill).where(Bill.household_id == household_id, Bill.status == str(BillStatus.OPEN))
                           .order_by(Bill.due_date, Bill.id)).all()
    return tuple(BillView(b.id, b.kind, _fee_label(b.kind, language), b.period, b.amount_fen, b.due_date,
                          b.due_date < today) for b in rows)


def household_summary(session: Session, household_id: int, language: str = "zh_Hans",
                      today: date | None = None) -> HouseholdSummary:
    """Bills due and their total, each card's ledger balance, and the household's account credit."""
    hh = get_household(session, household_id)
    bills = outstanding_bills(session, household_id, language, today)
    cards = session.scalars(select(Card).where(Card.household_id == household_id).order_by(Card.id)).all()
    views = tuple(CardBalance(c.id, c.card_no, c.kind, c.status, ledger.liability_balance(
        session, ledger.account(session, AccountKind.STORED_VALUE, card_id=c.id)), c.uid_hex, c.plate or "",
        bool(c.frozen_by_staff)) for c in cards if c.status != CardStatus.REPLACED)
    credit = ledger.liability_balance(session, ledger.account(session, AccountKind.CREDIT, household_id=household_id))
    return HouseholdSummary(hh.id, hh.unit_no, mask_unit(hh.unit_no), hh.holder_name,
                            household_tier(session, household_id), bills, sum(b.amount_fen for b in bills), views,
                            credit)


def set_household_pin(session: Session, household_id: int, pin: str, actor: str) -> None:
    """Store a new PIN (scrypt, salted) and clear any lock-out."""
    pins.check_pin_format(pin, MIN_HOUSEHOLD_PIN)
    hh = get_household(session, household_id)
    hh.pin_hash = pins.hash_pin(pin)
    hh.pin_failed = 0
    hh.pin_locked_until = None
    session.flush()
    audit.record(session, actor, "household.pin_set", hh.unit_no)


@dataclass(frozen=True)
class PinLockout:
    """A household's PIN lock-out as staff see it: wrong PINs in a row and, when locked, until when (UTC)."""

    unit_no: str
    failed: int
    locked_until: datetime | None

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until


def pin_lockout(hh: Household) -> PinLockout:
    return PinLockout(hh.unit_no, hh.pin_failed or 0, hh.pin_locked_until)


def household_id_of(session: Session, site_id: int, unit_no: str) -> int:
    """The household of a unit number on the site; raises NotFound."""
    found = session.scalars(select(Household.id).where(Household.site_id == site_id,
                                                       Household.unit_no == unit_no.strip())).one_or_none()
    if found is None:
        raise NotFound(f"unit {unit_no}")
    return found


def clear_pin_lockout(session: Session, site_id: int, unit_no: str, actor: str,
                      now: datetime | None = None) -> PinLockout:
    """Staff clear a household's lock-out and its count of wrong PINs (audited with what was cleared); returns the
    state before. Raises NotFound for an unknown unit, AlreadyDone when there was nothing to clear."""
    now = now or utcnow()
    hh = session.scalars(select(Household).where(Household.site_id == site_id, Household.unit_no == unit_no.strip())
                         .with_for_update()).one_or_none()
    if hh is None:
        raise NotFound(f"unit {unit_no}")
    before = pin_lockout(hh)
    if not before.failed and before.locked_until is None:
        raise AlreadyDone(f"unit {hh.unit_no}: no wrong PINs to clear")
    hh.pin_failed, hh.pin_locked_until = 0, None
    session.flush()
    audit.record(session, actor, "household.lockout_cleared", hh.unit_no, failed=before.failed,
                 was_locked=before.locked(now),
                 until=before.locked_until.isoformat() if before.locked_until else "")
    return before


def identify_by_pin(factory: sessionmaker[Session], site_id: int, unit_no: str, pin: str,
                    now: datetime | None = None) -> HouseholdIdentity:
    """Unit number + PIN. Raises NotFound, WrongPin(remaining=n), AccountLocked(until=...).

    A wrong PIN is counted in its own committed transaction before the error is raised, so the
    lock-out cannot be dodged; locking is audited.
    """
    now = now or utcnow()
    with unit_of_work(factory) as session:
        hh = session.scalars(select(Household).where(Household.site_id == site_id, Household.unit_no == unit_no.strip())
                             .with_for_update()).one_or_none()
        if hh is None or not hh.pin_hash:
            raise NotFound(f"unit {unit_no}")
        error = check_household_pin(session, hh, pin, now)
        identity = HouseholdIdentity(hh.id, hh.site_id, hh.unit_no, mask_unit(hh.unit_no),
                                     household_tier(session, hh.id))
    if error is not None:
        raise error
    return identity


def check_household_pin(session: Session, hh: Household, pin: str, now: datetime) -> Exception | None:
    """Count one PIN attempt on the household (the one lock-out for every PIN it types); returns the error to
    raise AFTER the caller commits (WrongPin, AccountLocked), or None when the PIN is right."""
    result = pins.attempt(pin, hh.pin_hash or "", hh.pin_failed, hh.pin_locked_until, now)
    hh.pin_failed, hh.pin_locked_until = result.failed, result.locked_until
    if result.just_locked:
        audit.record(session, f"unit:{hh.unit_no}", "household.locked", hh.unit_no,
                     until=result.locked_until.isoformat() if result.locked_until else "")
    elif not result.ok:
        audit.record(session, f"unit:{hh.unit_no}", "household.pin_refused", hh.unit_no, failed=result.failed)
    return result.error


def _fee_label(kind: str, language: str) -> str:
    try:
        return translate(FEE_LABELS[FeeKind(kind)], language)
    except ValueError:
        return kind
