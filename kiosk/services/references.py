"""Human-friendly reference numbers (for payments, callbacks, applications) that users can read out."""
from __future__ import annotations

import secrets
from datetime import datetime

from kiosk.domain.site_clock import to_site

_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: easy to read aloud


def new_reference(prefix: str, now: datetime) -> str:
    """e.g. 'P261128-7KQ4M': prefix, the site's date, five random symbols (31^5 ≈ 28 million a day)."""
    tail = "".join(secrets.choice(_ALPHABET) for _ in range(5))
    return f"{prefix}{to_site(now):%y%m%d}-{tail}"  # the site's day, as on the receipt
