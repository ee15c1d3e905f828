"""Staff users: add, sign in (PIN or staff card + PIN) with lock-out, shifts and the cash handover slip."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from kiosk.domain.money import Money
from kiosk.domain.receipt import ReceiptDocument, ReceiptKind
from kiosk.domain.site_clock import wall_text
from kiosk.domain.terms import AccountKind, StaffRole
from kiosk.errors import AlreadyDone, AuthError, InvalidAmount, InvalidEntry, NotFound, PermissionDenied
from kiosk.i18n import N_, translate
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import JournalEntry, JournalLine, Payment, Shift, StaffUser, utcnow
from kiosk.persistence.sums import joined, split_sum
from kiosk.services import audit, credit_report, ledger, pins, receipts
from kiosk.services.credit_report import CreditFigures
from kiosk.services.cards import normalize_uid
from kiosk.services.receipts import Till

MIN_STAFF_PIN = 6


@dataclass(frozen=True)
class StaffView:
    staff_id: int
    name: str
    role: str  # StaffRole
    has_card: bool


@dataclass(frozen=True)
class ShiftView:
    shift_id: int
    kiosk_id: int
    staff_id: int
    opened_at: datetime


@dataclass(frozen=True)
class HandoverView:
    shift_id: int
    staff_name: str
    opened_at: datetime
    closed_at: datetime
    expected_cash_fen: int
    counted_cash_fen: int
    difference_fen: int  # counted - expected: negative means cash is missing
    receipt_number: str
    document: ReceiptDocument
    credit: CreditFigures = CreditFigures((), (), 0)  # account credit created and used during the shift


def _view(user: StaffUser) -> StaffView:
    return StaffView(user.id, user.name, user.role, user.card_uid_hex is not None)


def require_role(user: StaffView, *roles: StaffRole) -> None:
    """Admins may do everything; otherwise the user's role must be one of `roles`."""
    if user.role != StaffRole.ADMIN and user.role not in {str(r) for r in roles}:
        raise PermissionDenied(f"{user.name} is {user.role}")


def add_staff(session: Session, *, name: str, role: StaffRole | str, pin: str, actor: str,
              card_uid: str | None = None) -> StaffView:
    """A new staff user; the PIN (6+ digits) is kept only as a salted scrypt hash."""
    name = name.strip()
    if not name or len(name) > 60:
        raise InvalidEntry("name", field="name")
    try:
        role = StaffRole(role)
    except ValueError as exc:
        raise InvalidEntry(f"role {role!r}", field="role") from exc
    pins.check_pin_format(pin, MIN_STAFF_PIN)
    if session.scalars(select(StaffUser).where(StaffUser.name == name)).first() is not None:
        raise AlreadyDone(f"staff {name}")
    uid = normalize_uid(card_uid) if card_uid else None
    if uid and session.scalars(select(StaffUser).where(StaffUser.card_uid_hex == uid)).first() is not None:
        raise AlreadyDone(f"staff card {uid}")
    user = StaffUser(name=name, role=str(role), pin_hash=pins.hash_pin(pin), card_uid_hex=uid, active=True)
    session.add(user)
    session.flush()
    audit.record(session, actor, "staff.added", name, role=str(role), card=bool(uid))
    return _view(user)


def set_staff_pin(session: Session, *, staff_id: int, pin: str, actor: str) -> None:
    pins.check_pin_format(pin, MIN_STAFF_PIN)
    user = _get(session, staff_id)
    user.pin_hash, user.failed_attempts, user.locked_until = pins.hash_pin(pin), 0, None
    session.flush()
    audit.record(session, actor, "staff.pin_set", user.name)


def sign_in(factory: sessionmaker[Session], name: str, pin: str, now: datetime | None = None) -> StaffView:
    """Name + PIN. Raises AuthError (unknown or inactive), WrongPin(remaining=n), AccountLocked(until=...)."""
    return _sign_in(factory, select(StaffUser).where(StaffUser.name == name.strip()), pin, now, name)


def sign_in_by_card(factory: sessionmaker[Session], card_uid: str, pin: str, now: datetime | None = None) -> StaffView:
    """Staff card tapped + PIN, with the same lock-out."""
    uid = normalize_uid(card_uid)
    return _sign_in(factory, select(StaffUser).where(StaffUser.card_uid_hex == uid), pin, now, f"card {uid}")


def staff_card_holder(session: Session, card_uid: str) -> StaffView | None:
    """The active staff user whose staff card has this UID, or None (a resident's card, an unknown card)."""
    try:
        uid = normalize_uid(card_uid)
    except InvalidEntry:
        return None
    user = session.scalars(select(StaffUser).where(StaffUser.card_uid_hex == uid,
                                                   StaffUser.active.is_(True))).one_or_none()
    return None if user is None else _view(user)


def _sign_in(factory: sessionmaker[Session], query, pin: str, now: datetime | None, who: str) -> StaffView:  # type: ignore[no-untyped-def]
    now = now or utcnow()
    with unit_of_work(factory) as session:  # the attempt is committed before any error is raised
        user = session.scalars(query.with_for_update()).one_or_none()
        if user is None or not user.active:
            audit.record(session, f"staff:{who}"[:80], "staff.sign_in_unknown", who[:120])
            result = None
        else:
            result = pins.attempt(pin, user.pin_hash, user.failed_attempts, user.locked_until, now)
            user.failed_attempts, user.locked_until = result.failed, result.locked_until
            if result.ok:
                audit.record(session, f"staff:{user.name}", "staff.signed_in", user.name)
            elif result.just_locked:
                audit.record(session, f"staff:{user.name}", "staff.locked", user.name,
                             until=result.locked_until.isoformat() if result.locked_until else "")
            else:
                audit.record(session, f"staff:{user.name}", "staff.pin_refused", user.name, failed=result.failed)
            view = _view(user)
    if result is None:
        raise AuthError(f"no active staff user for {who}")
    if result.error is not None:
        raise result.error
    return view


# --- shifts and handover ---------------------------------------------------------------------------
def open_shift(session: Session, till: Till, *, staff_id: int, now: datetime | None = None) -> ShiftView:
    """Start a shift on this kiosk; one open shift per kiosk."""
    user = _get(session, staff_id)
    if current_shift(session, till.kiosk_id) is not None:
        raise AlreadyDone(f"kiosk {till.kiosk_code} already has an open shift")
    shift = Shift(kiosk_id=till.kiosk_id, staff_id=user.id, opened_at=now or utcnow())
    session.add(shift)
    session.flush()
    audit.record(session, f"staff:{user.name}", "shift.opened", str(shift.id), kiosk=till.kiosk_code)
    return ShiftView(shift.id, shift.kiosk_id, shift.staff_id, shift.opened_at)


def current_shift(session: Session, kiosk_id: int) -> Shift | None:
    return session.scalars(select(Shift).where(Shift.kiosk_id == kiosk_id, Shift.closed_at.is_(None))
                           .order_by(Shift.id.desc())).first()


def last_handover_at(session: Session, kiosk_id: int) -> datetime | None:
    return session.scalar(select(func.max(Shift.closed_at)).where(Shift.kiosk_id == kiosk_id))


def expected_cash(session: Session, kiosk_id: int, since: datetime | None, until: datetime) -> int:
    """Movement of the kiosk's cash-box account between the last handover and `until` (ledger truth)."""
    box = ledger.account(session, AccountKind.CASH_BOX, kiosk_id=kiosk_id)
    query = (select(*split_sum(JournalLine.amount_fen))
             .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
             .where(JournalLine.account_id == box.id, JournalEntry.created_at <= until))
    if since is not None:
        query = query.where(JournalEntry.created_at > since)
    return joined(*session.execute(query).one())


def close_shift(session: Session, till: Till, *, staff_id: int, counted_cash_fen: int, language: str,
                now: datetime | None = None) -> HandoverView:
    """交接班: expected cash (ledger) against what was counted, stored on the shift, a handover slip."""
    if isinstance(counted_cash_fen, bool) or not isinstance(counted_cash_fen, int) or counted_cash_fen < 0:
        raise InvalidAmount(str(counted_cash_fen))
    now = now or utcnow()
    user = _get(session, staff_id)
    shift = current_shift(session, till.kiosk_id)
    if shift is None:
        raise NotFound(f"no open shift on kiosk {till.kiosk_code}")
    since = last_handover_at(session, till.kiosk_id)
    expected = expected_cash(session, till.kiosk_id, since, now)
    difference = counted_cash_fen - expected
    shift.closed_at, shift.expected_cash_fen, shift.counted_cash_fen = now, expected, counted_cash_fen

    def y(fen: int) -> str:
        return Money(fen).plain()

    opener = _get(session, shift.staff_id)
    fields = ((translate(N_("Shift opened by"), language), opener.name),
              (translate(N_("Handed over by"), language), user.name),
              (translate(N_("Opened at"), language), wall_text(shift.opened_at)),
              (translate(N_("Expected cash"), language), y(expected)),
              (translate(N_("Counted cash"), language), y(counted_cash_fen)),
              (translate(N_("Difference"), language), y(difference)))
    fields += credit_report.slip_fields(shift_credit(session, till.kiosk_id, since, now), language)
    notes = () if difference == 0 else (translate(N_("The counted cash does not match the records."), language),)
    receipt, doc = receipts.issue(session, till, kind=ReceiptKind.SHIFT_HANDOVER, language=language,
                                  title=translate(N_("Shift handover slip"), language), fields=fields, notes=notes,
                                  now=now)
    shift.handover_receipt_id = receipt.id
    session.flush()
    audit.record(session, f"staff:{user.name}", "shift.handover", str(shift.id), expected_fen=expected,
                 counted_fen=counted_cash_fen, receipt=receipts.format_number(receipt.number))
    return HandoverView(shift.id, user.name, shift.opened_at, now, expected, counted_cash_fen, difference,
                        receipts.format_number(receipt.number), doc, shift_credit(session, till.kiosk_id, since, now))


def shift_credit(session: Session, kiosk_id: int, since: datetime | None, until: datetime) -> CreditFigures:
    """Account credit this kiosk created and used since the last handover (payments completed, refunds
    and voids to credit posted)."""
    query = select(Payment).where(Payment.kiosk_id == kiosk_id, Payment.completed_at <= until)
    if since is not None:
        query = query.where(Payment.completed_at > since)
    return credit_report.figures(session, session.scalars(query).all(), [kiosk_id], since, until)


def _get(session: Session, staff_id: int) -> StaffUser:
    user = session.get(StaffUser, staff_id)
    if user is None:
        raise NotFound(f"staff {staff_id}")
    return user
