"""Callback requests: a resident leaves a phone number and a topic; staff list the open ones and mark them done."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.errors import AlreadyDone, InvalidEntry, NotFound
from kiosk.i18n import N_, translate
from kiosk.persistence.models import CallbackRequest, utcnow
from kiosk.domain.receipt import ReceiptKind
from kiosk.services import audit, receipts
from kiosk.services.charges import actor_of
from kiosk.services.receipts import Till
from kiosk.services.references import unused_reference

TOPICS: dict[str, str] = {
    "fees": N_("Fees and bills"),
    "repair": N_("Repairs"),
    "cards": N_("IC cards"),
    "parking": N_("Parking"),
    "booking": N_("Installation bookings"),
    "complaint": N_("Complaints and suggestions"),
    "other": N_("Other"),
}
_MOBILE = re.compile(r"^1[3-9]\d{9}$")  # mainland mobile
_LANDLINE = re.compile(r"^0\d{2,3}\d{7,8}$")  # area code + number


@dataclass(frozen=True)
class CallbackView:
    callback_id: int
    reference: str
    phone: str
    topic: str
    topic_label: str
    note: str
    status: str
    created_at: datetime
    done_at: datetime | None
    done_by: str


def normalize_phone(text: str) -> str:
    """A mainland mobile (11 digits from 13x-19x) or a landline with area code; '+86', spaces, dashes dropped."""
    digits = re.sub(r"[\s\-()]", "", text)
    if digits.startswith("+86"):
        digits = digits[3:]
    if not (_MOBILE.match(digits) or _LANDLINE.match(digits)):
        raise InvalidEntry(f"phone {text!r}", field="phone number")
    return digits


def topics(language: str) -> tuple[tuple[str, str], ...]:
    return tuple((key, translate(label, language)) for key, label in TOPICS.items())


def request_callback(session: Session, till: Till, *, phone: str, topic: str, note: str = "",
                     household_id: int | None = None, language: str = "zh_Hans") -> CallbackView:
    if topic not in TOPICS:
        raise InvalidEntry(f"topic {topic!r}", field="topic")
    reference = unused_reference(session, CallbackRequest.reference, "CB", utcnow())
    row = CallbackRequest(site_id=till.site_id, reference=reference, phone=normalize_phone(phone),
                          topic=topic, note=note.strip()[:200], household_id=household_id, status="open")
    session.add(row)
    session.flush()
    audit.record(session, actor_of(till), "callback.requested", row.reference, topic=topic)
    view = _view(row, language)
    # A slip the person keeps: the reference to quote when staff call back, the number masked.
    digits = row.phone
    masked = digits[:3] + "*" * max(len(digits) - 7, 0) + digits[-4:] if len(digits) > 7 else digits
    receipts.issue(session, till, kind=ReceiptKind.CALLBACK, language=language,
                   title=translate(N_("Callback request"), language), household_id=household_id,
                   fields=((translate(N_("Reference"), language), row.reference),
                           (translate(N_("Topic"), language), view.topic_label),
                           (translate(N_("Phone"), language), masked)),
                   notes=(translate(N_("Our staff will call you back during service hours."), language),))
    return view


def open_callbacks(session: Session, site_id: int, language: str, include_done: bool = False) -> tuple[CallbackView, ...]:
    """For staff: open requests oldest first (all of them with include_done, newest first)."""
    query = select(CallbackRequest).where(CallbackRequest.site_id == site_id)
    if include_done:
        query = query.order_by(CallbackRequest.created_at.desc(), CallbackRequest.id.desc())
    else:
        query = query.where(CallbackRequest.status == "open").order_by(CallbackRequest.created_at, CallbackRequest.id)
    return tuple(_view(r, language) for r in session.scalars(query))


def mark_done(session: Session, *, callback_id: int, staff_name: str, now: datetime | None = None) -> CallbackView:
    row = session.get(CallbackRequest, callback_id)
    if row is None:
        raise NotFound(f"callback {callback_id}")
    if row.status == "done":
        raise AlreadyDone(row.reference)
    row.status = "done"
    row.done_at = now or utcnow()
    row.done_by = staff_name[:60]
    session.flush()
    audit.record(session, f"staff:{staff_name}", "callback.done", row.reference)
    return _view(row, "zh_Hans")


def _view(row: CallbackRequest, language: str) -> CallbackView:
    return CallbackView(row.id, row.reference, row.phone, row.topic, translate(TOPICS.get(row.topic, row.topic), language),
                        row.note, row.status, row.created_at, row.done_at, row.done_by)
