"""Human-friendly reference numbers (for payments, callbacks, applications) that users can read out."""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.domain.site_clock import to_site

_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: easy to read aloud


def new_reference(prefix: str, now: datetime) -> str:
    """e.g. 'P261128-7KQ4M': prefix, the site's date, five random symbols (31^5 ≈ 28 million a day)."""
    tail = "".join(secrets.choice(_ALPHABET) for _ in range(5))
    return f"{prefix}{to_site(now):%y%m%d}-{tail}"  # the site's day, as on the receipt


def unused_reference(session: Session, column: Any, prefix: str, now: datetime) -> str:
    """A new reference that no row holds yet in `column` (a unique column such as Payment.reference).

    Five random symbols make a clash on one day rare, not impossible (a demo seed writes 32 payments at once:
    about 1 in 58,000 seeds met one, and the unique constraint turned it into a failed seed). Drawing again
    while the reference is taken makes it impossible within this database."""
    while True:
        reference = new_reference(prefix, now)
        if session.scalars(select(column).where(column == reference).limit(1)).first() is None:
            return reference
