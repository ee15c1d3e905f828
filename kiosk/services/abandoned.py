"""Payments nobody will finish: intents left open when the kiosk stopped, released at the next start.

A restarted kiosk has no screen session that could resume them. Once the start-up recovery has
credited what arrived (notes stacked, QR orders settled), each intent of this kiosk is failed with
code E7005: its bills go back to open, its booking place is freed, and every fen that arrived stays
as the household's credit (said on the staff list and in the audit log). Intents waiting on a card
write are left alone: the card station resolves them when that card is tapped again; so is an intent whose
idempotency key an attempt holds right now (kiosk.persistence.key_claims). A retry of a released payment is told
so with its reference (PaymentCancelledByRestart, E7006), never given an empty success.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from kiosk.domain.terms import PaymentPurpose, PaymentStatus
from kiosk.persistence import key_claims
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Booking, CardOperation, Payment
from kiosk.services import payments
from kiosk.services.receipts import Till

ABANDONED = "E7005"


def _waits_on_a_card(session: Session, payment_id: int) -> bool:
    return session.scalar(select(CardOperation.id).where(CardOperation.payment_id == payment_id,
                                                         CardOperation.status == "pending").limit(1)) is not None


def release_abandoned_intents(factory: sessionmaker[Session], till: Till, *, started_before: datetime,
                              code: str = ABANDONED) -> list[str]:
    """Fail this kiosk's intents created before `started_before`; returns their references. `code`: what a retry
    is told (E7005, released at a restart; E2014, cut off by a database outage: kiosk.app_runtime.offline)."""
    released: list[str] = []
    with unit_of_work(factory) as session:
        ids = session.scalars(select(Payment.id).where(Payment.kiosk_id == till.kiosk_id,
                                                       Payment.status == str(PaymentStatus.INTENT),
                                                       Payment.created_at < started_before)).all()
    for payment_id in ids:
        with unit_of_work(factory) as session:
            key = session.scalar(select(Payment.idempotency_key).where(Payment.id == payment_id))
        held = key_claims.try_claim(factory, key) if key else None
        if held is None:  # an attempt is working on it right now (a retry resumed it): not abandoned
            continue
        try:
            with unit_of_work(factory) as session:
                payment = payments.lock_payment(session, payment_id)
                if payment.status != PaymentStatus.INTENT or _waits_on_a_card(session, payment.id):
                    continue
                payments.fail(session, till, payment, code)
                if payment.purpose == PaymentPurpose.BOOKING:
                    session.execute(update(Booking).where(Booking.payment_id == payment.id,
                                                          Booking.status == "pending")
                                    .values(status="cancelled").execution_options(synchronize_session=False))
                released.append(payment.reference)
        finally:
            held.release()
    return released
