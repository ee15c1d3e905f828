"""The settlement locks its payment and the account it spends in one statement (payments.lock_payment with `spends`,
PostgreSQL): the payment first, then the account, as every settlement locks. Proved here with transactions of
their own: while the settlement waits for the payment it holds no lock on the account, the balance it reads counts
what was committed while it waited, and a payment settled meanwhile locks no account at all."""
from __future__ import annotations

import threading

import pytest

from kiosk.domain.terms import AccountKind, EntryKind, PaymentMethod, PaymentStatus
from kiosk.errors import DatabaseBusy
from kiosk.persistence.db import make_engine, unit_of_work
from kiosk.persistence.models import Payment
from kiosk.persistence.round_trips import counting
from kiosk.services import ledger, payments
from tests.support import estate
from tests.support.chain_key import bound_factory

pytestmark = pytest.mark.parametrize("backend", ["postgres"])


@pytest.fixture
def engines(db_url):
    engine, fast = make_engine(db_url), make_engine(db_url, lock_timeout_s=1.0)
    yield engine, fast
    engine.dispose()
    fast.dispose()


def _cash_intent_with_credit(factory, fen: int) -> tuple[estate.MiniEstate, int]:
    """A cash payment's intent whose banknote (`fen`) arrived: the household's credit holds it."""
    with unit_of_work(factory) as s:
        mini = estate.build(s, households=1, bills_each=1)
    hh = mini.household_ids[0]
    with unit_of_work(factory) as s:
        payment, _ = payments.start_bill_payment(s, mini.till, key="settle-locks", household_id=hh,
                                                 bill_ids=mini.bill_ids[hh], method=PaymentMethod.CASH)
    with unit_of_work(factory) as s:
        payments.record_cash_in(s, mini.till, s.get(Payment, payment.id), counter=1, value_fen=fen)
    return mini, payment.id


def _account_free(factory, hh: int) -> bool:
    """Can another transaction lock the household's credit account now (within the engine's 1 s lock timeout)?"""
    try:
        with unit_of_work(factory) as s:
            ledger.lock(s, ledger.account(s, AccountKind.CREDIT, household_id=hh))
        return True
    except DatabaseBusy:
        return False


def test_the_settlement_waits_for_the_payment_before_it_locks_the_account_and_reads_what_was_committed_meanwhile(
        engines):
    engine, fast = engines
    factory, other, third = bound_factory(engine), bound_factory(engine, chain="K02"), bound_factory(fast, chain="K03")
    mini, payment_id = _cash_intent_with_credit(factory, 10_000)
    hh = mini.household_ids[0]
    holding, release = threading.Event(), threading.Event()
    seen: list[tuple[int, int]] = []

    def holder() -> None:  # another settlement holds the payment, moves 4,000 of the credit, commits when told
        with unit_of_work(factory) as s:
            payments.lock_payment(s, payment_id)
            credit = ledger.account(s, AccountKind.CREDIT, household_id=hh)
            box = ledger.account(s, AccountKind.CASH_BOX, kiosk_id=mini.till.kiosk_id)
            ledger.post(s, EntryKind.REFUND, [ledger.Posting(credit, 4_000), ledger.Posting(box, -4_000)])
            holding.set()
            release.wait(10)

    def settlement() -> None:
        with unit_of_work(other) as s:
            credit = ledger.account(s, AccountKind.CREDIT, household_id=hh)
            payments.lock_payment(s, payment_id, with_items=True, spends=credit)
            with counting(engine) as count:
                available = ledger.locked_liability(s, credit)
            seen.append((available, count.round_trips))

    first = threading.Thread(target=holder)
    first.start()
    assert holding.wait(10)
    waiter = threading.Thread(target=settlement)
    waiter.start()
    waiter.join(0.5)
    assert waiter.is_alive() and not seen  # it waits for the payment...
    try:
        assert _account_free(third, hh)  # ...holding nothing on the account meanwhile
    finally:
        release.set()
        first.join(10)
        waiter.join(10)
    assert seen == [(6_000, 0)]  # the holder's refund counted; read with the lock, not asked again


def test_a_payment_settled_meanwhile_locks_no_account(engines):
    engine, fast = engines
    factory, third = bound_factory(engine), bound_factory(fast, chain="K03")
    mini, payment_id = _cash_intent_with_credit(factory, 10_000)
    hh = mini.household_ids[0]
    with unit_of_work(factory) as s:  # settled elsewhere (here: marked so) before this settlement locks it
        payments.lock_payment(s, payment_id).status = str(PaymentStatus.SUCCEEDED)
    with unit_of_work(factory) as s:
        credit = ledger.account(s, AccountKind.CREDIT, household_id=hh)
        payment = payments.lock_payment(s, payment_id, with_items=True, spends=credit)
        assert payment.status == PaymentStatus.SUCCEEDED
        assert _account_free(third, hh)  # while this transaction is still open
