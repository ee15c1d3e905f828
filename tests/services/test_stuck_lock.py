"""A payment meeting a stuck lock: another connection holds what the payment's settle needs (PostgreSQL: the
payment's row, FOR UPDATE; SQLite: the write lock) past the database's lock timeout, statement timeout or busy
timeout. The settle is rolled back whole, the resident gets one translated line with E7008 and the payment's
reference, nothing moved; once the lock is gone the same request (same idempotency key) finishes the payment."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, func, select, text

from kiosk.domain.terms import AccountKind, BillStatus, PaymentMethod, PaymentStatus
from kiosk.errors import PaymentTimedOut
from kiosk.persistence.db import make_engine, unit_of_work
from kiosk.persistence.models import Bill, JournalEntry, Payment, Receipt
from kiosk.services import ledger, payments
from tests.support.chain_key import bound_factory


@pytest.fixture(params=["lock_timeout", "statement_timeout"])
def timeout_kind(request: pytest.FixtureRequest, backend: str) -> str:
    if backend == "sqlite" and request.param == "statement_timeout":
        pytest.skip("SQLite has one wait, its busy timeout (the lock_timeout case)")
    return request.param


@pytest.fixture
def impatient_engine(db_url: str, backend: str, timeout_kind: str) -> Iterator[Engine]:
    """The kiosk's engine as the settings make it, with a 1 s bound on waiting for a lock."""
    if backend == "sqlite":
        eng = make_engine(db_url, busy_timeout_s=1)
    elif timeout_kind == "lock_timeout":
        eng = make_engine(db_url, lock_timeout_s=1, statement_timeout_s=30)
    else:
        eng = make_engine(db_url, statement_timeout_s=1)
    yield eng
    eng.dispose()


def _card_value(factory, card_id: int) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as s:
        return ledger.liability_balance(s, ledger.account(s, AccountKind.STORED_VALUE, card_id=card_id))


def test_a_payment_meeting_a_stuck_lock_moves_nothing_says_so_and_its_retry_finishes_it(
        engine, factory, mini, impatient_engine, backend, timeout_kind):
    hh = mini.household_ids[0]
    bill_id, card_id = mini.bill_ids[hh][0], mini.card_ids[hh]
    value_before = _card_value(factory, card_id)
    kiosk = bound_factory(impatient_engine)
    holder: list[Connection] = []

    def hold_the_lock(payment: Payment) -> None:  # another program takes what the settle needs, and keeps it
        conn = engine.connect()
        holder.append(conn)
        conn.begin()  # SQLite: BEGIN IMMEDIATE, the write lock
        if backend == "postgres":
            conn.execute(text("SELECT id FROM payments WHERE id = :id FOR UPDATE"), {"id": payment.id})

    request = dict(key="stuck-1", household_id=hh, bill_ids=[bill_id], method=PaymentMethod.CARD, card_id=card_id,
                   language="en")
    try:
        with pytest.raises(PaymentTimedOut) as caught:
            payments.pay_bills(kiosk, mini.till, move_money=hold_the_lock, **request)
    finally:
        for conn in holder:
            conn.rollback()
            conn.close()

    with unit_of_work(factory) as s:
        payment = s.scalars(select(Payment).where(Payment.idempotency_key == "stuck-1")).one()
        assert payment.status == PaymentStatus.INTENT  # the intent stands; the settle left no trace
        assert s.scalar(select(func.count()).select_from(JournalEntry).where(JournalEntry.payment_id == payment.id)) == 0
        assert s.scalar(select(func.count()).select_from(Receipt).where(Receipt.payment_id == payment.id)) == 0
        assert s.get(Bill, bill_id).status == str(BillStatus.PENDING)  # still reserved for this payment only
        reference = payment.reference
    assert _card_value(factory, card_id) == value_before

    error = caught.value
    assert error.code == "E7008"
    line = error.user_message("en")
    assert "1 s" in line and "Please try again" in line and "\n" not in line
    if backend == "postgres":  # read without waiting for the lock; SQLite's reads wait for the write lock too
        assert reference in line
    for language in ("zh_Hans", "zh_Hant"):
        translated = error.user_message(language)
        assert translated != line and str(error.params["reference"]) in translated

    done = payments.pay_bills(kiosk, mini.till, **request)  # the lock is gone: the same request again
    assert done.status == PaymentStatus.SUCCEEDED and done.reference == reference and done.receipt_number
    assert _card_value(factory, card_id) == value_before - done.amount_fen
    with unit_of_work(factory) as s:
        assert s.get(Bill, bill_id).status == str(BillStatus.PAID)
        assert s.scalar(select(func.count()).select_from(JournalEntry).where(JournalEntry.payment_id ==
                                                                              done.payment_id)) == 1
