"""A payment's intent: the row written before any money moves, under its idempotency key.

`record_intent` writes it, or returns the payment already recorded under the key (a replay). On PostgreSQL
reached through the kiosk's engine the intent's INSERT costs no round trip of its own: its id was taken in the
transaction's first message (kiosk.persistence.id_reservoir) and the INSERT rides with the transaction's next
statement or its COMMIT (kiosk.persistence.with_commit), the server checking that it inserted the row. If the
key's row appeared meanwhile (a writer that did not hold the key's claim) or the random reference was taken, the
check fails, the whole unit of work rolls back and IntentRaced is raised; the attempt then runs again
(kiosk.services.payments.run_attempt) and reads the winner's payment, or draws another reference. Elsewhere
(SQLite, another engine) the INSERT ... ON CONFLICT DO NOTHING is answered at once and the loser reads the winner
in the same transaction, as before.
"""
from __future__ import annotations

import functools
import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, make_transient_to_detached

from kiosk.domain.terms import AccountKind, PaymentMethod, PaymentPurpose, PaymentStatus
from kiosk.errors import CreditNotEnough, IdempotencyConflict, IntentRaced, InvalidAmount
from kiosk.persistence import id_reservoir
from kiosk.persistence.commit_option import riding
from kiosk.persistence.db import dialect_insert
from kiosk.persistence.models import Payment, utcnow
from kiosk.services import audit, ledger
from kiosk.services.receipts import Till
from kiosk.services.references import new_reference

NOT_LOOKED_UP: Any = object()  # record_intent's `known` when the caller has not looked the key up


def request_hash(**request: Any) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


def find_by_key(session: Session, key: str) -> Payment | None:
    return session.scalars(select(Payment).where(Payment.idempotency_key == key)).one_or_none()


def record_intent(session: Session, till: Till, *, key: str, purpose: PaymentPurpose, method: PaymentMethod,
                  amount_fen: int, household_id: int | None, card_id: int | None = None,
                  details: dict[str, Any] | None = None, fingerprint: dict[str, Any] | None = None,
                  credit_fen: int = 0, known: Any = NOT_LOOKED_UP) -> tuple[Payment, bool]:
    """Write the intent, or return the payment already recorded under `key` (replay=True).

    The same key with a different request is refused: a key never has two effects. `credit_fen` is the
    part paid from the household's account credit (split tender: the rest by `method`); with the credit
    method it is the whole amount. The credit must be there now, before any other money moves; it is
    spent only when the payment settles, so a payment that fails never consumes it. `known`: the payment the
    caller already looked up under `key` (None: there is none; one query less).
    """
    if method == PaymentMethod.CREDIT:
        credit_fen = amount_fen
    if isinstance(credit_fen, bool) or not isinstance(credit_fen, int) or not 0 <= credit_fen <= max(amount_fen, 0):
        raise InvalidAmount(f"credit part {credit_fen!r} of {amount_fen}")
    extra = {"credit": credit_fen} if credit_fen and method != PaymentMethod.CREDIT else {}
    digest = request_hash(purpose=str(purpose), method=str(method), amount=amount_fen, household=household_id,
                          card=card_id, **(fingerprint or {}), **extra)
    existing = find_by_key(session, key) if known is NOT_LOOKED_UP else known
    if existing is not None:
        if existing.request_hash != digest:
            raise IdempotencyConflict(key)
        return existing, True
    if amount_fen <= 0:
        raise InvalidAmount(str(amount_fen))
    if credit_fen:
        available = ledger.liability_balance(session, ledger.account(session, AccountKind.CREDIT,
                                                                     household_id=household_id))
        if available < credit_fen:
            raise CreditNotEnough(f"credit: needs {credit_fen}, has {available}", available_fen=available)
    now = utcnow()
    values = dict(idempotency_key=key, request_hash=digest, kiosk_id=till.kiosk_id, household_id=household_id,
                  card_id=card_id, purpose=str(purpose), method=str(method), amount_fen=amount_fen,
                  credit_fen=credit_fen, status=str(PaymentStatus.INTENT),
                  details=json.dumps(details or {}, ensure_ascii=False, sort_keys=True), created_at=now)
    payment = _riding_insert(session, key, values, now)
    while payment is None:
        # Insert-if-absent, one statement, no savepoint: the key's row may be committed by another process meanwhile
        # (PostgreSQL waits for the winner's commit, then inserts nothing), or the random reference may be taken.
        payment = session.scalars(dialect_insert(session, Payment)
                                  .values(reference=new_reference("P", now), **values)
                                  .on_conflict_do_nothing().returning(Payment)).first()
        winner = find_by_key(session, key) if payment is None else None
        if winner is not None:  # lost the race for the key: its payment is this one (none: the reference was
            if winner.request_hash != digest:  # another payment's, and the loop draws again)
                raise IdempotencyConflict(key) from None
            return winner, True
    audit.record(session, f"kiosk:{till.kiosk_code}", "payment.intent", payment.reference,
                 purpose=str(purpose), method=str(method), amount_fen=amount_fen, credit_fen=credit_fen)
    return payment, False


def _riding_insert(session: Session, key: str, values: dict[str, Any], now: datetime) -> Payment | None:
    """The intent's INSERT riding with the transaction's next statement (module docstring), as the payment row the
    session then holds; None where no payment id was taken ahead (the caller inserts and reads back)."""
    payment_id = id_reservoir.take_transaction_id(session, "payments")
    if payment_id is None:
        return None
    row = dict(values, id=payment_id, reference=new_reference("P", now), received_fen=0, failure_code="",
               completed_at=None)
    session.execute(_insert_if_absent(), row,
                    execution_options=riding(1, lambda: IntentRaced(f"idempotency key {key} or reference "
                                                                    f"{row['reference']} taken meanwhile")))
    payment = Payment(**row)
    make_transient_to_detached(payment)  # the row as stored, without reading it back
    session.add(payment)
    return payment


def details_of(payment: Payment) -> dict[str, Any]:
    """The payment's `details` (JSON: what it is for, its network, its outcome or failure's parameters)."""
    try:
        found = json.loads(payment.details or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def set_details(payment: Payment, **values: Any) -> None:
    payment.details = json.dumps({**details_of(payment), **values}, ensure_ascii=False, sort_keys=True)


@functools.cache
def _insert_if_absent() -> Any:
    """PostgreSQL's INSERT ... ON CONFLICT DO NOTHING of a payment row, built once; the row comes as parameters."""
    from sqlalchemy.dialects.postgresql import insert

    return insert(Payment).on_conflict_do_nothing()

