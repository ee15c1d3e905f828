"""Staff users' passwords for the office web console: a slow salted KDF (scrypt, as the PINs) and a lock-out
after 5 wrong passwords in a row, counted apart from the kiosk PIN's (docs/office.md, "The console")."""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kiosk.domain.site_clock import wall_text
from kiosk.errors import AccountLocked, AuthError, WebAccountLocked, WebPasswordNotSet, WebPasswordTooShort, \
    WebSignInRefused
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import StaffUser, utcnow
from kiosk.services import audit, pins
from kiosk.services.staff import StaffView

MIN_LENGTH, MAX_LENGTH = 10, 128


def set_web_password(session: Session, *, name: str, password: str, actor: str) -> StaffView:
    """Set (or replace) a staff user's web password; clears the web lock-out."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise WebPasswordTooShort(field="password")
    user = session.scalars(select(StaffUser).where(StaffUser.name == name.strip())).one_or_none()
    if user is None:
        raise AuthError(f"no staff user {name!r}")
    user.web_password_hash = pins.hash_pin(password)
    user.web_failed_attempts, user.web_locked_until = 0, None
    session.flush()
    audit.record(session, actor, "staff.web_password_set", user.name)
    return StaffView(user.id, user.name, user.role, user.card_uid_hex is not None)


def sign_in(factory: sessionmaker[Session], name: str, password: str, now: datetime | None = None) -> StaffView:
    """Name + web password. The attempt is committed before an error is raised: WebSignInRefused (unknown
    name or wrong password: the same words, so names cannot be probed), WebAccountLocked, WebPasswordNotSet."""
    now = now or utcnow()
    error: AuthError | None = None
    with unit_of_work(factory) as session:
        user = session.scalars(select(StaffUser).where(StaffUser.name == name.strip())
                               .with_for_update()).one_or_none()
        if user is None or not user.active:
            audit.record(session, f"web:{name.strip()}"[:80], "staff.web_sign_in_unknown", name.strip()[:120])
            error = WebSignInRefused(remaining=pins.MAX_ATTEMPTS)
        elif not user.web_password_hash:
            error = WebPasswordNotSet(user.name)
        else:
            result = pins.attempt(password, user.web_password_hash, user.web_failed_attempts,
                                  user.web_locked_until, now)
            user.web_failed_attempts, user.web_locked_until = result.failed, result.locked_until
            if result.ok:
                audit.record(session, f"staff:{user.name}", "staff.web_signed_in", user.name)
            elif isinstance(result.error, AccountLocked):
                if result.just_locked:
                    audit.record(session, f"staff:{user.name}", "staff.web_locked", user.name)
                until = result.locked_until or now
                error = WebAccountLocked(until=wall_text(until, "%H:%M"), until_at=until)
            else:
                audit.record(session, f"staff:{user.name}", "staff.web_password_refused", user.name,
                             failed=result.failed)
                error = WebSignInRefused(remaining=pins.MAX_ATTEMPTS - result.failed)
            view = StaffView(user.id, user.name, user.role, user.card_uid_hex is not None)
    if error is not None:
        raise error
    return view


def current(session: Session, staff_id: int, stamp: str | None = None) -> StaffView | None:
    """The signed-in user as the database has them now: None when removed, deactivated, or (with `stamp`) when
    their web password changed since the session began (see `password_stamp`)."""
    user = session.get(StaffUser, staff_id)
    if user is None or not user.active or not user.web_password_hash:
        return None
    if stamp is not None and not hmac.compare_digest(stamp, password_stamp(user.web_password_hash)):
        return None
    return StaffView(user.id, user.name, user.role, user.card_uid_hex is not None)


def password_stamp(stored_hash: str) -> str:
    """A short fingerprint of the stored hash (its salt changes with every new password), kept in the session so that
    setting a new password ends every session signed in with the old one."""
    return hashlib.sha256(stored_hash.encode()).hexdigest()[:16]


def stamp_of(session: Session, staff_id: int) -> str:
    user = session.get(StaffUser, staff_id)
    return password_stamp(user.web_password_hash or "") if user is not None else ""
