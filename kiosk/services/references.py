"""Human-friendly reference numbers (for payments, callbacks, applications) that users can read out."""
from __future__ import annotations

import secrets
from datetime import datetime

_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: easy to read aloud


def new_reference(prefix: str, now: datetime) -> str:
    """e.g. 'P261128-7KQ4M': prefix, date, five random symbols (31^5 ≈ 28 million a day)."""
    tail = "".join(secrets.choice(_ALPHABET) for _ in range(5))
    return f"{prefix}{now:%y%m%d}-{tail}"
