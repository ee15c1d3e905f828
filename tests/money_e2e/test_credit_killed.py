"""Split tender across a crash: a real kiosk process pays a bill with account credit first and banknotes for
the rest, and is SIGKILLed between a stacked note and its ledger entry. The restarted kiosk credits the note
once, a same-key retry settles, and the credit part is spent exactly once."""
from __future__ import annotations

from sqlalchemy import select

from devices.cash.cctalk_bill_validator import CctalkBillValidator
from kiosk.domain.terms import AccountKind, BillStatus, EntryKind, FeeKind, PaymentMethod, PaymentStatus
from kiosk.payments.cash_collector import CashCollector, CreditedNote
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Bill, JournalEntry, Payment
from kiosk.services import ledger, payments

from .test_kiosk_killed import Child, first_bill


def _credit(factory, hh) -> int:
    with unit_of_work(factory) as s:
        return ledger.liability_balance(s, ledger.account(s, AccountKind.CREDIT, household_id=hh))


def test_killed_during_the_cash_part_of_a_split_payment_loses_nothing_and_spends_the_credit_once(
        factory, db_url, mini, cash_sim, screen):
    hh, bill = first_bill(mini)  # 100.00
    with unit_of_work(factory) as s:  # 30.00 of credit: a booking fee refunded earlier
        ledger.transfer(s, EntryKind.REFUND, ledger.account(s, AccountKind.REVENUE, fee_kind=FeeKind.BOOKING),
                        ledger.account(s, AccountKind.CREDIT, household_id=hh), 3_000, kiosk_id=mini.till.kiosk_id,
                        memo="cancel earlier booking")
    child = Child("cash", db_url, "kill-split", str(hh), str(bill), "--cash-path", cash_sim.path,
                  "--die-at-note", "2", "--credit-fen", "3000")
    try:
        child.expect("READY")
        assert cash_sim.insert_note(50) == "escrow"
        assert child.expect("RECEIVED") == "5000"
        assert cash_sim.insert_note(20) == "escrow"
        counter = int(child.expect("STACKED"))
    finally:
        child.kill()
    with unit_of_work(factory) as s:
        p = s.scalars(select(Payment)).one()
        assert (p.status, p.received_fen, p.credit_fen) == (PaymentStatus.INTENT, 5_000, 3_000)
        assert s.get(Bill, bill).status == BillStatus.PENDING
        pid = p.id
    assert _credit(factory, hh) == 3_000 + 5_000  # the credit untouched, the first note on top of it
    with CctalkBillValidator(cash_sim.path, timeout_s=0.3, retries=1) as validator:
        collector = CashCollector(validator, factory, mini.till, poll_interval_s=0.05)
        assert collector.recover() == [CreditedNote(counter, 2_000, pid)]
        out = payments.pay_bills(factory, mini.till, key="kill-split", household_id=hh, bill_ids=[bill],
                                 method=PaymentMethod.CASH, language="en", credit_fen=3_000,
                                 move_money=collector.as_move_money(screen.control))
    assert out.status is PaymentStatus.SUCCEEDED and out.payment_id == pid and screen.seen == []  # nothing more asked
    assert cash_sim.stacked_fen == 7_000 and _credit(factory, hh) == 0
    with unit_of_work(factory) as s:
        parts = s.scalars(select(JournalEntry).where(JournalEntry.payment_id == pid,
                                                     JournalEntry.kind == str(EntryKind.BILL_PAYMENT))).all()
        assert sorted(e.memo.endswith("credit") for e in parts) == [False, True]
        assert s.get(Bill, bill).status == BillStatus.PAID and ledger.unbalanced_entries(s) == []
