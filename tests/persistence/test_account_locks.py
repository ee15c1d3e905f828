"""A spender's lock on an account (ledger.lock) keeps other spenders out and nothing else: another kiosk's journal
line to the same account (a banknote credited to the household) goes through at once. With FOR UPDATE it waited
for the spender's commit (its foreign key check takes a key-share lock), and two such transactions could deadlock."""
from __future__ import annotations

import threading
import time

import pytest

from kiosk.domain.terms import AccountKind, EntryKind, PaymentMethod
from kiosk.errors import DatabaseBusy
from kiosk.persistence.db import make_engine, unit_of_work
from kiosk.persistence.models import Payment
from kiosk.services import ledger, payments
from tests.support import estate
from tests.support.chain_key import bound_factory


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_locked_account_still_takes_other_kiosks_lines(db_url):
    engine = make_engine(db_url)
    fast = make_engine(db_url, lock_timeout_s=2.0)
    try:
        factory, other = bound_factory(engine), bound_factory(fast, chain="K02")
        with unit_of_work(factory) as s:
            mini = estate.build(s, households=1, bills_each=2)
            hh = mini.household_ids[0]
            ledger.account(s, AccountKind.CREDIT, household_id=hh)  # both accounts exist, as after a first note
            ledger.account(s, AccountKind.CASH_BOX, kiosk_id=mini.till.kiosk_id)
        locked, release = threading.Event(), threading.Event()

        def spender() -> None:  # holds the household's credit account as a settlement does, until told
            with unit_of_work(factory) as s:
                ledger.lock(s, ledger.account(s, AccountKind.CREDIT, household_id=hh))
                locked.set()
                release.wait(10)

        holder = threading.Thread(target=spender)
        holder.start()
        try:
            assert locked.wait(10)
            t0 = time.perf_counter()
            with unit_of_work(other) as s:  # another kiosk: a cash payment's intent, then its banknote
                payment, _ = payments.start_bill_payment(s, mini.till, key="note-while-locked", household_id=hh,
                                                         bill_ids=mini.bill_ids[hh][:1], method=PaymentMethod.CASH)
            with unit_of_work(other) as s:
                payments.record_cash_in(s, mini.till, s.get(Payment, payment.id), counter=1, value_fen=10_000)
        except DatabaseBusy:
            pytest.fail("a banknote credited to the household waited for the spender's lock")
        finally:
            release.set()
            holder.join(10)
        assert time.perf_counter() - t0 < 2.0
    finally:
        engine.dispose()
        fast.dispose()


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_balance_read_with_its_lock_counts_what_the_lock_holder_spent_meanwhile(db_url):
    """ledger.locked_balance is one round trip on PostgreSQL (a server-side function, migration 0016); a spender
    that waited for the lock must see the balance the holder left, or two kiosks spend one balance. One statement
    that locked and summed would answer 10,000 here (the snapshot from before the wait: docs/fleet.md)."""
    engine = make_engine(db_url)
    try:
        factory, other = bound_factory(engine), bound_factory(engine, chain="K02")
        with unit_of_work(factory) as s:
            mini = estate.build(s, households=1, bills_each=1)
            hh = mini.household_ids[0]
            credit = ledger.account(s, AccountKind.CREDIT, household_id=hh)
            box = ledger.account(s, AccountKind.CASH_BOX, kiosk_id=mini.till.kiosk_id)
            ledger.post(s, EntryKind.CASH_IN, [ledger.Posting(box, 10_000), ledger.Posting(credit, -10_000)])
        locked, release = threading.Event(), threading.Event()
        seen: list[int] = []

        def spender() -> None:  # kiosk A spends the whole credit under the lock and commits when told
            with unit_of_work(factory) as s:
                ledger.spend_liability(s, EntryKind.BILL_PAYMENT, ledger.account(s, AccountKind.CREDIT, household_id=hh),
                                       ledger.account(s, AccountKind.CASH_BOX, kiosk_id=mini.till.kiosk_id), 10_000)
                locked.set()
                release.wait(10)

        def second_spender() -> None:  # kiosk B asks for the balance under the lock while A holds it
            with unit_of_work(other) as s:
                seen.append(ledger.locked_liability(s, ledger.account(s, AccountKind.CREDIT, household_id=hh)))

        holder = threading.Thread(target=spender)
        holder.start()
        assert locked.wait(10)
        waiter = threading.Thread(target=second_spender)
        waiter.start()
        waiter.join(0.5)
        assert waiter.is_alive() and not seen  # B waits for A's lock
        release.set()
        holder.join(10)
        waiter.join(10)
        assert seen == [0]
    finally:
        engine.dispose()
