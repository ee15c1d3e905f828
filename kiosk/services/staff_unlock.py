"""Unlocking staff mode at a kiosk with a PIN alone (after the hidden gesture), with a kiosk lock-out.

No name is typed at the counter, so a wrong PIN cannot be charged to one staff user. Instead the
kiosk counts wrong PINs: five in a row lock staff unlock at this kiosk for 15 minutes. The count
lives in the audit log (rows `staff.unlock_refused` / `staff.unlock_locked` for the kiosk), so it
survives a restart and every attempt is audited. A right PIN signs in its user through the normal
per-user path (`staff.sign_in`), which also resets that user's own counter.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kiosk.domain.site_clock import wall_text
from kiosk.errors import AccountLocked, WrongPin
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import AuditEntry, StaffUser, utcnow
from kiosk.services import audit, pins, staff
from kiosk.services.receipts import Till

REFUSED, LOCKED, OPENED = "staff.unlock_refused", "staff.unlock_locked", "staff.unlock_opened"


def _state(session: Session, till: Till, now: datetime) -> tuple[int, datetime | None]:
    """(wrong PINs in a row, locked until) from this kiosk's recent unlock rows."""
    rows = session.scalars(select(AuditEntry).where(AuditEntry.subject == f"kiosk:{till.kiosk_code}",
                                                    AuditEntry.action.in_((REFUSED, LOCKED, OPENED)),
                                                    AuditEntry.at >= now - pins.LOCK_FOR * 2)
                           .order_by(AuditEntry.id.desc())).all()
    failed = 0
    for row in rows:
        if row.action == OPENED:
            break
        if row.action == LOCKED:
            until = row.at + pins.LOCK_FOR
            return (failed, until) if now < until else (0, None)
        failed += 1
    return failed, None


def unlock(factory: sessionmaker[Session], till: Till, pin: str, now: datetime | None = None) -> staff.StaffView:
    """Sign in whichever active staff user has this PIN; raise WrongPin / AccountLocked otherwise."""
    now = now or utcnow()
    with unit_of_work(factory) as session:
        failed, until = _state(session, till, now)
        if until is not None:
            raise AccountLocked(until=wall_text(until, "%H:%M"), until_at=until)
        users = session.scalars(select(StaffUser).where(StaffUser.active.is_(True)).order_by(StaffUser.id)).all()
        match = next((u.name for u in users if pins.verify_pin(pin, u.pin_hash)), None)
        subject = f"kiosk:{till.kiosk_code}"
        if match is None:
            failed += 1
            if failed >= pins.MAX_ATTEMPTS:
                audit.record(session, subject, LOCKED, subject, failed=failed)
                error: Exception = AccountLocked(until=wall_text(now + pins.LOCK_FOR, "%H:%M"),
                                                 until_at=now + pins.LOCK_FOR)
            else:
                audit.record(session, subject, REFUSED, subject, failed=failed)
                error = WrongPin(remaining=pins.MAX_ATTEMPTS - failed)
        else:
            audit.record(session, subject, OPENED, subject, staff=match)
    if match is None:
        raise error
    return staff.sign_in(factory, match, pin, now)
