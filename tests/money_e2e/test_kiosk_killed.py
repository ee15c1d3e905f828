"""The kiosk process is SIGKILLed mid-payment (a real subprocess); the restarted kiosk loses nothing and counts nothing twice."""
from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from devices.cash.cctalk_bill_validator import CctalkBillValidator
from kiosk.domain.terms import AccountKind, BillStatus, EntryKind, PaymentMethod, PaymentStatus
from kiosk.errors import PaymentCancelledByRestart
from kiosk.payments.cash_collector import CashCollector, CreditedNote
from kiosk.payments.control import Stage
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Bill, CashEventRecord, GatewayOrderRecord, JournalEntry, Payment, utcnow
from kiosk.services import ledger, payments
from kiosk.services.abandoned import release_abandoned_intents

from .conftest import SECRET

ROOT = Path(__file__).resolve().parents[2]


class Child:
    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.money_e2e.kiosk_child", *args], cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def expect(self, prefix: str, timeout: float = 15.0) -> str:
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                self.kill()
                raise AssertionError(f"no {prefix!r} from the kiosk; stderr: {self.proc.stderr.read()[-2000:]}")
            if line.startswith(prefix):
                return line[len(prefix):].strip()

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        assert self.proc.returncode in (-signal.SIGKILL, 0, 1, -9)


def first_bill(mini):
    hh = mini.household_ids[0]
    return hh, mini.bill_ids[hh][0]


def test_killed_between_a_stacked_note_and_its_ledger_entry_restart_credits_it_once(factory, db_url, mini, cash_sim,
                                                                                    screen):
    hh, bill = first_bill(mini)
    with unit_of_work(factory) as s:
        box_before = ledger.balance(s, ledger.account(s, AccountKind.CASH_BOX, kiosk_id=mini.till.kiosk_id))
    child = Child("cash", db_url, "kill-cash", str(hh), str(bill), "--cash-path", cash_sim.path, "--die-at-note", "2")
    try:
        child.expect("READY")
        assert cash_sim.insert_note(50) == "escrow"
        assert child.expect("RECEIVED") == "5000"
        assert cash_sim.insert_note(20) == "escrow"
        counter = int(child.expect("STACKED"))
    finally:
        child.kill()
    assert cash_sim.stacked_fen == 7000  # both notes are in the box
    with unit_of_work(factory) as s:
        p = s.scalars(select(Payment)).one()
        assert p.status == PaymentStatus.INTENT and p.received_fen == 5000  # the 20 never reached the ledger
        pid = p.id
    # The restarted kiosk.
    with CctalkBillValidator(cash_sim.path, timeout_s=0.3, retries=1) as validator:
        collector = CashCollector(validator, factory, mini.till, poll_interval_s=0.05)
        assert collector.recover() == [CreditedNote(counter, 2000, pid)]
        assert collector.recover() == []  # a second restart finds nothing new
        with unit_of_work(factory) as s:
            assert s.get(Payment, pid).received_fen == 7000
            stacked = s.scalars(select(CashEventRecord).where(CashEventRecord.kind == "stacked")).all()
            assert sorted(r.value_fen for r in stacked) == [2000, 5000]
            box = ledger.account(s, AccountKind.CASH_BOX, kiosk_id=mini.till.kiosk_id)
            credit = ledger.account(s, AccountKind.CREDIT, household_id=hh)
            assert ledger.balance(s, box) - box_before == 7000 and ledger.liability_balance(s, credit) == 7000
        # The same request again resumes the payment and asks only for the 30 yuan still due.
        screen.on(lambda p: p.stage is Stage.INSERT_NOTES and p.message != p.notice and p.received_fen == 7000,
                  lambda _p: cash_sim.insert_note(20))
        screen.on(lambda p: p.stage is Stage.INSERT_NOTES and p.received_fen == 9000,
                  lambda _p: cash_sim.insert_note(10))
        out = payments.pay_bills(factory, mini.till, key="kill-cash", household_id=hh, bill_ids=[bill],
                                 method=PaymentMethod.CASH, language="en",
                                 move_money=collector.as_move_money(screen.control))
    assert out.status is PaymentStatus.SUCCEEDED and out.payment_id == pid
    assert screen.seen[0].due_fen == 10_000 and screen.seen[0].received_fen == 7000
    assert cash_sim.stacked_fen == 10_000
    with unit_of_work(factory) as s:
        assert s.get(Payment, pid).received_fen == 10_000 and s.get(Bill, bill).status == BillStatus.PAID
        assert ledger.unbalanced_entries(s) == []


def test_killed_mid_payment_then_restarted_a_retry_is_told_it_was_cancelled_with_its_reference(factory, db_url, mini,
                                                                                              cash_sim):
    hh, bill = first_bill(mini)
    child = Child("cash", db_url, "kill-retry", str(hh), str(bill), "--cash-path", cash_sim.path, "--die-at-note", "2")
    try:
        child.expect("READY")
        assert cash_sim.insert_note(50) == "escrow"
        assert child.expect("RECEIVED") == "5000"
        assert cash_sim.insert_note(20) == "escrow"
        child.expect("STACKED")
    finally:
        child.kill()
    started = utcnow()
    # The restarted kiosk: its start-up recovery credits the note and releases the payment nobody will finish.
    with CctalkBillValidator(cash_sim.path, timeout_s=0.3, retries=1) as validator:
        CashCollector(validator, factory, mini.till, poll_interval_s=0.05).recover()
    with unit_of_work(factory) as s:
        ref = s.scalars(select(Payment.reference)).one()
    assert release_abandoned_intents(factory, mini.till, started_before=started) == [ref]
    # The same request again (a retry with the dead kiosk's key): never an empty success.
    with pytest.raises(PaymentCancelledByRestart) as info:
        payments.pay_bills(factory, mini.till, key="kill-retry", household_id=hh, bill_ids=[bill],
                           method=PaymentMethod.CASH, language="en", move_money=lambda _p: None)
    assert info.value.code == "E7006" and info.value.params["reference"] == ref
    assert ref in info.value.user_message("zh_Hans") and ref in info.value.user_message("en")
    with unit_of_work(factory) as s:
        assert s.get(Bill, bill).status == BillStatus.OPEN
        credit = ledger.account(s, AccountKind.CREDIT, household_id=hh)
        assert ledger.liability_balance(s, credit) == 7000  # both notes are the household's credit


@pytest.mark.parametrize("paid_while_down", [True, False])
def test_killed_while_a_qr_order_is_open_restart_asks_the_gateway_and_settles(factory, db_url, mini, gateway_sim, qr,
                                                                             screen, paid_while_down):
    hh, bill = first_bill(mini)
    child = Child("qr", db_url, "kill-qr", str(hh), str(bill), "--gateway", gateway_sim.url, "--secret", SECRET)
    try:
        order_id = child.expect("ORDER")
    finally:
        child.kill()
    with unit_of_work(factory) as s:
        assert [(r.order_id, r.state) for r in s.scalars(select(GatewayOrderRecord))] == [(order_id, "pending")]
    if paid_while_down:
        gateway_sim.pay(order_id, notify="once", delay_s=0)  # its notification finds nobody listening
    settled = qr.recover()
    assert [(o.order_id, o.state) for o in settled] == [(order_id, "paid" if paid_while_down else "closed")]
    assert qr.recover() == []
    if not paid_while_down:
        assert gateway_sim.orders[order_id].state == "closed"
        return
    out = payments.pay_bills(factory, mini.till, key="kill-qr", household_id=hh, bill_ids=[bill],
                             method=PaymentMethod.QR, language="en", move_money=qr.as_move_money(screen.control))
    assert out.status is PaymentStatus.SUCCEEDED and screen.seen == []  # nothing more was asked of anyone
    with unit_of_work(factory) as s:
        assert len(s.scalars(select(GatewayOrderRecord)).all()) == 1
        entries = s.scalars(select(JournalEntry).where(JournalEntry.kind == str(EntryKind.CASH_IN))).all()
        assert [e.memo for e in entries if e.payment_id == out.payment_id] == \
            [f"gateway {gateway_sim.orders[order_id].gateway_txn}"]
        assert s.get(Bill, bill).status == BillStatus.PAID
