"""Re-sending an issued invoice to the resident's phone (SMS) or e-mail, through the provider's delivery call
(Nuonuo: deliveryInvoice), at most `RESENDS_PER_DAY` times per invoice and site day.

The address is checked here first (a mainland mobile number, an e-mail address), each refusal one translated line.
Then, in one short transaction, the invoice row is locked, the day's re-sends counted (the limit) and the attempt
stored as an `invoice_answers` row (call "deliver", outcome "sending", the address masked: the full number is never
stored). The provider is called with no transaction open; its yes turns the row to "sent", its no or no answer
deletes it (nothing was sent, nothing is recorded, the limit is not spent) and raises one translated line.
A process killed between the provider's yes and the update leaves "sending": it counts against the limit.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from kiosk.domain import site_clock
from kiosk.errors import (InvoiceEmailInvalid, InvoiceNotSent, InvoicePhoneInvalid, InvoiceProviderUnreachable,
                          InvoiceRateLimited, InvoiceResendLimit, InvoiceSignatureRejected, InvoiceWrongState,
                          NotFound)
from kiosk.invoices import requests
from kiosk.invoices.states import InvoiceState
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import InvoiceAnswer, InvoiceRequest
from kiosk.ports import InvoiceProvider

RESENDS_PER_DAY = 3
CALL = "deliver"
SENDING, SENT = "sending", "sent"
SMS, EMAIL = "sms", "email"
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
EMAIL_MAX = 100


def check_phone(text: str) -> str:
    """A mainland mobile number as the provider takes it (11 digits); spaces, dashes and +86 are dropped."""
    digits = re.sub(r"[\s-]", "", text or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    if not _MOBILE.match(digits):
        raise InvoicePhoneInvalid(f"phone {text!r}", phone=(text or "").strip()[:20])
    return digits


def check_email(text: str) -> str:
    address = (text or "").strip()
    if len(address) > EMAIL_MAX or not _EMAIL.match(address):
        raise InvoiceEmailInvalid(f"email {text!r}", email=address[:EMAIL_MAX])
    return address


def mask_phone(phone: str) -> str:
    """'13800138000' -> '138****8000'."""
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 8 else "*" * len(phone)


def mask_email(email: str) -> str:
    """'zhang.san@example.cn' -> 'z***@example.cn'."""
    user, _, host = email.partition("@")
    return f"{user[:1]}***@{host}"


@dataclass(frozen=True)
class Delivery:
    """One re-send made: where to (masked), and how many more the day allows."""

    request_id: int
    invoice_no: str
    channel: str  # SMS or EMAIL
    address_masked: str
    left_today: int


def sent_today(session: Session, request_id: int) -> int:
    """Re-sends of this invoice during the site's day (those in flight count too)."""
    start, end = site_clock.day_bounds(site_clock.site_today())
    return int(session.scalar(select(func.count()).select_from(InvoiceAnswer).where(
        InvoiceAnswer.request_id == request_id, InvoiceAnswer.call == CALL, InvoiceAnswer.at >= start,
        InvoiceAnswer.at < end)) or 0)


def resend(factory: sessionmaker[Session], provider: InvoiceProvider, *, request_id: int | None = None,
           invoice_no: str = "", phone: str = "", email: str = "", actor: str,
           household_id: int | None = None, per_day: int = RESENDS_PER_DAY,
           now: datetime | None = None) -> Delivery:
    """Re-send one issued invoice (by its request id or its number) to `phone` or `email`.

    `household_id`, when given, must own the invoice (a resident re-sends only the household's own)."""
    if bool(phone) == bool(email):
        raise ValueError("a re-send goes to a phone or to an e-mail address")
    channel, address = (SMS, check_phone(phone)) if phone else (EMAIL, check_email(email))
    masked = mask_phone(address) if channel == SMS else mask_email(address)
    with unit_of_work(factory) as s:
        if request_id is None:
            request_id = requests.by_invoice_no(s, invoice_no).id
        row: InvoiceRequest = requests.get(s, request_id, lock=True)  # re-sends of one invoice queue here
        if household_id is not None and row.household_id != household_id:
            raise NotFound(f"invoice request {request_id} of household {household_id}")
        if row.state != InvoiceState.ISSUED or not row.invoice_no:
            raise InvoiceWrongState(f"re-send of request {row.id} in {row.state}", state=row.state)
        done = sent_today(s, row.id)
        if done >= per_day:
            raise InvoiceResendLimit(f"request {row.id}: {done} re-sends today", count=done)
        attempt = InvoiceAnswer(request_id=row.id, order_no=row.order_no, call=CALL, outcome=SENDING,
                                detail=f"{channel} {masked}", worker=actor[:80], **({"at": now} if now else {}))
        s.add(attempt)
        s.flush()
        attempt_id, number = attempt.id, row.invoice_no
    try:
        provider.deliver(number, phone=address if channel == SMS else "", email=address if channel == EMAIL else "")
    except BaseException as exc:
        with unit_of_work(factory) as s:  # not sent: nothing recorded, the day's limit not spent
            s.execute(delete(InvoiceAnswer).where(InvoiceAnswer.id == attempt_id))
        if isinstance(exc, (InvoiceProviderUnreachable, InvoiceRateLimited, InvoiceSignatureRejected)):
            raise InvoiceNotSent(f"deliver {number}: {exc}") from exc
        raise
    with unit_of_work(factory) as s:
        s.get(InvoiceAnswer, attempt_id).outcome = SENT  # type: ignore[union-attr]
    return Delivery(request_id, number, channel, masked, max(0, per_day - done - 1))
