"""Invoice order numbers: made on the kiosk, stored before anything is sent, unique per enterprise, <= 20 characters.

`<site><yymmdd><B|R><7 symbols>`, e.g. `HY261208B7KQ4M2X` (16 characters for a two-letter site code): the site's
code (letters and digits, at most 4), the site's date, B for a blue invoice or R for a red letter, and seven
random symbols from an alphabet that reads aloud without confusion. A number already held by any request or red
letter in this database is drawn again, and the unique keys on both tables make a clash impossible.
"""
from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.domain.site_clock import to_site
from kiosk.persistence.models import InvoiceRequest, RedLetter
from kiosk.ports import ORDER_NO_MAX

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
TAIL = 7


def site_prefix(site_code: str) -> str:
    return "".join(ch for ch in site_code.upper() if ch.isascii() and ch.isalnum())[:4]


def new_order_no(session: Session, site_code: str, red: bool, now: datetime) -> str:
    prefix = f"{site_prefix(site_code)}{to_site(now):%y%m%d}{'R' if red else 'B'}"
    while True:
        order_no = prefix + "".join(secrets.choice(ALPHABET) for _ in range(TAIL))
        assert len(order_no) <= ORDER_NO_MAX
        taken = session.scalars(select(InvoiceRequest.id).where(InvoiceRequest.order_no == order_no).limit(1)).first()
        if taken is None:
            taken = session.scalars(select(RedLetter.id).where(RedLetter.order_no == order_no).limit(1)).first()
        if taken is None:
            return order_no
