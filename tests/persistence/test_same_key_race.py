"""Same answer on both databases: attempts racing with one idempotency key - threads with connections of their
own, and separate processes - all get the one completed payment back; money moves once, one receipt.

(Before: on PostgreSQL the losers of the insert race were told E2000/E2002 instead of the payment.)"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kiosk.domain.terms import AccountKind, EntryKind, PaymentMethod, PaymentPurpose, PaymentStatus
from kiosk.errors import IntentRaced
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import JournalEntry, Payment, Receipt
from kiosk.services import ledger, payments
from tests.support import estate

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def mini(factory):
    with unit_of_work(factory) as s:
        return estate.build(s, households=2, bills_each=3)


def _counts(factory) -> tuple[int, int, int]:
    """(payments, receipts, money-in entries)."""
    with unit_of_work(factory) as s:
        return (int(s.scalar(select(func.count()).select_from(Payment)) or 0),
                int(s.scalar(select(func.count()).select_from(Receipt)) or 0),
                int(s.scalar(select(func.count()).select_from(JournalEntry)
                             .where(JournalEntry.kind == str(EntryKind.CASH_IN))) or 0))


def test_threads_racing_with_one_key_all_get_the_completed_card_payment(factory, mini):
    hh = mini.household_ids[0]
    barrier = threading.Barrier(6)

    def pay(_n):
        barrier.wait()
        return payments.pay_bills(factory, mini.till, key="same", household_id=hh, bill_ids=mini.bill_ids[hh][:2],
                                  method=PaymentMethod.CARD, card_id=mini.card_ids[hh], language="en")

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(pay, range(6)))
    assert {(r.payment_id, r.receipt_number, r.status, r.balance_after_fen) for r in results} == {
        (results[0].payment_id, "00000001", PaymentStatus.SUCCEEDED, 50_000 - 21_234)}
    assert sorted(r.replayed for r in results) == [False] + [True] * 5
    with unit_of_work(factory) as s:
        sv = ledger.account(s, AccountKind.STORED_VALUE, card_id=mini.card_ids[hh])
        assert ledger.liability_balance(s, sv) == 50_000 - 21_234  # charged once
    assert _counts(factory)[:2] == (1, 1)


def test_the_loser_of_the_insert_race_reads_the_winners_payment(factory, mini, backend):
    """Below the key claims: two transactions insert the same key; the second (PostgreSQL: blocked on the
    unique index until the first commits; SQLite: queued on the write lock) gets the first one's row. On
    PostgreSQL the loser's INSERT rode to its COMMIT (kiosk.services.intents): its unit of work is rolled back
    with IntentRaced, and its attempt, run again (payments.run_attempt), reads the winner's payment."""
    hh = mini.household_ids[0]
    kw = dict(key="k", purpose=PaymentPurpose.TOP_UP, method=PaymentMethod.CASH, amount_fen=1_000, household_id=hh)
    winner_in, loser_started = threading.Event(), threading.Event()
    raced: list[str] = []

    def one_try():
        try:
            with unit_of_work(factory) as s:
                payment, replayed = payments.record_intent(s, mini.till, **kw)
                return payment.reference, replayed
        except IntentRaced as exc:
            raced.append(exc.code)
            raise

    def loser():
        assert winner_in.wait(10)
        loser_started.set()
        return payments.run_attempt(factory, "k", one_try)

    with ThreadPoolExecutor(1) as pool:
        with unit_of_work(factory) as s:
            first, replayed = payments.record_intent(s, mini.till, **kw)
            assert not replayed
            s.execute(select(1))  # on PostgreSQL the INSERT rides with the next statement: now it is in
            winner_in.set()
            future = pool.submit(loser)
            assert loser_started.wait(10)
            time.sleep(0.3)  # the loser is now waiting on the winner's uncommitted row / write lock
            assert not future.done()
            reference = first.reference
        assert future.result(30) == (reference, True)
    assert _counts(factory)[0] == 1
    assert raced == (["E2003"] if backend == "postgres" else [])


def _child(db_url: str, key: str, hh: int, bills: list[int], txn: str, slow: float) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.persistence.same_key_child", db_url, key, str(hh),
                             *map(str, bills), "--gateway-txn", txn, "--slow", str(slow)], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_processes_racing_with_one_key_all_get_the_completed_payment(factory, db_url, mini):
    hh = mini.household_ids[0]
    bills = mini.bill_ids[hh][:1]
    # the winner takes 0.5 s for its money to arrive: the others must wait for it, not pay again
    children = [_child(db_url, "race", hh, bills, f"TXN-{n}", 0.5) for n in range(4)]
    try:
        for child in children:
            assert child.stdout is not None and child.stdout.readline().strip() == "READY", child.stderr.read()
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        lines = [child.communicate(timeout=60)[0].strip().splitlines()[-1] for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
    assert all(line.startswith("OUTCOME ") for line in lines), lines
    outcomes = [json.loads(line.split(" ", 1)[1]) for line in lines]
    assert {(o["payment_id"], o["receipt"], o["status"], o["amount_fen"]) for o in outcomes} == {
        (outcomes[0]["payment_id"], "00000001", "succeeded", 10_000)}
    assert sorted(o["replayed"] for o in outcomes) == [False, True, True, True]
    assert _counts(factory) == (1, 1, 1)  # one payment, one receipt, the gateway's money counted once
    with unit_of_work(factory) as s:
        assert s.scalars(select(Payment.received_fen)).one() == 10_000
