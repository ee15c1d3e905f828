"""A banknote journaled on the kiosk is credited to its household exactly once, whatever moment the kiosk is
killed at: between the journal and the credit, or between the credit and its mark in the journal."""
from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from kiosk.domain.terms import AccountKind, PaymentMethod
from kiosk.payments.offline_cash import CashJournal, credit_journaled_notes, journal_path, new_note
from kiosk.persistence.db import make_engine, unit_of_work
from kiosk.persistence.models import Bill, Household
from kiosk.services import ledger, payments
from tests.support.chain_key import bound_factory
from tests.support.demo_site import seeded_site

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def estate(pg_url, tmp_path):
    engine = make_engine(pg_url)
    factory = bound_factory(engine)
    settings, _db, till, _report = seeded_site(engine, factory, pg_url, tmp_path / "data", households=4)
    with unit_of_work(factory) as s:
        household = s.scalars(select(Household).where(Household.unit_no == "1-0101")).one()
        bill = s.scalars(select(Bill).where(Bill.household_id == household.id, Bill.status == "open")).first()
        payment, _ = payments.start_bill_payment(s, till, key="killed-kiosk", household_id=household.id,
                                                 bill_ids=[bill.id], method=PaymentMethod.CASH)
        ids = payment.id, payment.reference, household.id
    yield settings, till, factory, ids
    engine.dispose()


def _credit(factory, household_id: int) -> int:
    with unit_of_work(factory) as s:
        return ledger.liability_balance(s, ledger.account(s, AccountKind.CREDIT, household_id=household_id))


def _kiosk_killed_after(mode: str, pg_url: str, journal: Path, note, till) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.Popen([sys.executable, "-m", "tests.fleet.journal_child", pg_url, str(journal),
                              json.dumps(dataclasses.asdict(note)), mode, json.dumps(dataclasses.asdict(till))],
                             cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = child.stdout.readline().strip()  # the child has done its part and waits for the kill
        assert line == mode.upper(), f"child said {line!r} (exit {child.poll()})"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    assert child.returncode == -signal.SIGKILL


@pytest.mark.parametrize("mode", ["journaled", "credited"])
def test_killed_between_journal_and_credit_the_note_is_credited_once(estate, pg_url, mode):
    settings, till, factory, (payment_id, reference, household_id) = estate
    journal = journal_path(settings.data_dir)
    note = new_note(till, payment_id, reference, household_id, counter=7, value_fen=5_000)
    before = _credit(factory, household_id)
    _kiosk_killed_after(mode, pg_url, journal, note, till)
    assert journal.stat().st_mode & 0o777 == 0o600
    restarted = CashJournal(journal)  # the kiosk starts again and the database answers
    assert [n.note_id for n in restarted.pending()] == [note.note_id]
    credited = credit_journaled_notes(factory, till, restarted)
    assert [n.note_id for n in credited] == ([note.note_id] if mode == "journaled" else [])
    assert restarted.pending() == []
    assert credit_journaled_notes(factory, till, restarted) == []
    assert _credit(factory, household_id) - before == 5_000
    with unit_of_work(factory) as s:
        from kiosk.persistence.models import Payment
        assert s.get(Payment, payment_id).received_fen == 5_000
