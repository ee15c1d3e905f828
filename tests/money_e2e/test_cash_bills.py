"""Paying bills with banknotes through the real ccTalk driver and the pty simulator, on a real database."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from kiosk.domain.terms import AccountKind, BillStatus, PaymentMethod, PaymentStatus
from kiosk.errors import CashAcceptorFault, PaymentCancelled
from kiosk.payments.control import Stage
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Bill, CashEventRecord, Payment
from kiosk.services import ledger, payments

BILL_FEN = 10_000  # the estate's first bill of each household


def pay(mini, factory, cash, screen, key="cash-1", bills=1):
    hh = mini.household_ids[0]
    return payments.pay_bills(factory, mini.till, key=key, household_id=hh, bill_ids=mini.bill_ids[hh][:bills],
                              method=PaymentMethod.CASH, language="en", move_money=cash.as_move_money(screen.control))


def feed(cash_sim, *notes):
    """The person feeds notes, one each time the screen shows it is ready for more."""
    queue = list(notes)

    def next_note(_progress):
        if queue:
            assert cash_sim.insert_note(queue.pop(0)) == "escrow"
    return next_note


def credit_of(factory, hh):
    with unit_of_work(factory) as s:
        return ledger.liability_balance(s, ledger.account(s, AccountKind.CREDIT, household_id=hh))


def box_of(factory, mini):
    with unit_of_work(factory) as s:
        return ledger.balance(s, ledger.account(s, AccountKind.CASH_BOX, kiosk_id=mini.till.kiosk_id))


def test_exact_cash_pays_the_bill_and_each_note_is_on_the_ledger(factory, mini, cash, cash_sim, screen):
    box_before = box_of(factory, mini)
    notes = feed(cash_sim, 50, 50)
    screen.on(lambda p: p.stage is Stage.INSERT_NOTES and p.received_fen == 0 and not p.notice == "" and
              p.message != p.notice, notes)
    screen.on(lambda p: p.stage is Stage.INSERT_NOTES and p.received_fen == 5000, notes)
    out = pay(mini, factory, cash, screen)
    assert out.status is PaymentStatus.SUCCEEDED and out.receipt_number
    assert screen.seen[0].notice and screen.seen[0].received_fen == 0  # the no-change notice came first
    assert [p.received_fen for p in screen.seen if p.stage is Stage.INSERT_NOTES][-1] == 5000
    assert screen.seen[-1].stage is Stage.FINISHING and screen.seen[-1].received_fen == 10_000
    assert not cash_sim.master_enabled and cash_sim.stacked_fen == 10_000
    assert box_of(factory, mini) - box_before == 10_000
    with unit_of_work(factory) as s:
        p = s.get(Payment, out.payment_id)
        assert p.received_fen == 10_000
        stacked = s.scalars(select(CashEventRecord).where(CashEventRecord.kind == "stacked")).all()
        assert [(r.value_fen, r.payment_id) for r in stacked] == [(5000, p.id), (5000, p.id)]
        assert s.get(Bill, mini.bill_ids[mini.household_ids[0]][0]).status == BillStatus.PAID
        assert ledger.unbalanced_entries(s) == []
    assert credit_of(factory, mini.household_ids[0]) == 0


def test_overpay_is_stacked_only_after_consent_and_becomes_credit(factory, mini, cash, cash_sim, screen):
    script = {0: 50, 5000: 20, 7000: 20, 9000: 50}  # received so far -> next note; the last one overpays
    screen.on(lambda p: p.stage is Stage.INSERT_NOTES and p.message != p.notice and p.received_fen == 0,
              lambda _p: cash_sim.insert_note(script[0]))
    for at in (5000, 7000, 9000):
        screen.on(lambda p, at=at: p.stage is Stage.INSERT_NOTES and p.received_fen == at,
                  lambda _p, at=at: cash_sim.insert_note(script[at]))
    screen.on(lambda p: p.stage is Stage.CONFIRM_OVERPAY, lambda _p: screen.control.answer_overpay(True))
    out = pay(mini, factory, cash, screen)
    assert out.status is PaymentStatus.SUCCEEDED
    overpay = next(p for p in screen.seen if p.stage is Stage.CONFIRM_OVERPAY)
    assert dict(overpay.params)["excess"] == 4000  # a 50 against the 10 still due
    assert overpay.received_fen == 9000  # nothing of the 50 counted before the person agreed
    assert cash_sim.stacked_fen == 14_000
    assert credit_of(factory, mini.household_ids[0]) == 4000
    assert any("40.00" in n for n in out.document.notes)  # said on the receipt


def test_overpay_declined_returns_the_note_and_waits_for_a_smaller_one(factory, mini, cash, cash_sim, screen):
    screen.on(lambda p: p.stage is Stage.INSERT_NOTES and p.message != p.notice and p.received_fen == 0,
              lambda _p: cash_sim.insert_note(50))
    screen.on(lambda p: p.stage is Stage.INSERT_NOTES and p.received_fen == 5000 and "returned" not in p.message,
              lambda _p: cash_sim.insert_note(100))
    screen.on(lambda p: p.stage is Stage.CONFIRM_OVERPAY, lambda _p: screen.control.answer_overpay(False))
    screen.on(lambda p: p.stage is Stage.INSERT_NOTES and "returned" in p.message,
              lambda _p: cash_sim.insert_note(50))
    out = pay(mini, factory, cash, screen)
    assert out.status is PaymentStatus.SUCCEEDED and cash_sim.stacked_fen == 10_000
    assert Stage.CONFIRM_OVERPAY in screen.stages()
    assert credit_of(factory, mini.household_ids[0]) == 0


def test_cancel_midway_returns_the_escrow_note_and_keeps_stacked_money_as_credit(factory, mini, cash, cash_sim,
                                                                                 screen):
    screen.on(lambda p: p.stage is Stage.INSERT_NOTES and p.message != p.notice and p.received_fen == 0,
              lambda _p: cash_sim.insert_note(20))
    screen.on(lambda p: p.stage is Stage.INSERT_NOTES and p.received_fen == 2000, lambda _p: screen.control.cancel())
    with pytest.raises(PaymentCancelled):
        pay(mini, factory, cash, screen)
    final = screen.seen[-1]
    assert final.received_fen == 2000 and not final.can_cancel and dict(final.params)["credit"] == 2000
    hh = mini.household_ids[0]
    with unit_of_work(factory) as s:
        p = s.scalars(select(Payment)).one()
        assert p.status == PaymentStatus.FAILED and p.received_fen == 2000
        assert s.get(Bill, mini.bill_ids[hh][0]).status == BillStatus.OPEN  # released for another try
    assert credit_of(factory, hh) == 2000 and cash_sim.stacked_fen == 2000 and not cash_sim.master_enabled


@pytest.mark.parametrize("fault", ["jam", "stacker_full"])
def test_a_fault_mid_payment_ends_it_and_keeps_what_arrived(factory, mini, cash, cash_sim, screen, fault):
    screen.on(lambda p: p.stage is Stage.INSERT_NOTES and p.message != p.notice and p.received_fen == 0,
              lambda _p: cash_sim.insert_note(50))
    screen.on(lambda p: p.stage is Stage.INSERT_NOTES and p.received_fen == 5000,
              lambda _p: cash_sim.jam() if fault == "jam" else cash_sim.fill_stacker())
    with pytest.raises(CashAcceptorFault) as info:
        pay(mini, factory, cash, screen)
    assert info.value.params["reason"] in ("note jammed", "cash box full")
    assert credit_of(factory, mini.household_ids[0]) == 5000
    with unit_of_work(factory) as s:
        assert s.scalars(select(Payment)).one().status == PaymentStatus.FAILED


def test_a_stray_note_between_payments_goes_to_suspense_not_to_the_next_payment(factory, mini, cash, cash_sim,
                                                                                   screen, validator):
    validator.enable([2000])  # a fault left the acceptor enabled; someone feeds a note with no payment open
    assert cash_sim.insert_note(20) == "escrow"
    validator.stack_escrow()
    validator.disable()
    notes = feed(cash_sim, 100)
    screen.on(lambda p: p.stage is Stage.INSERT_NOTES and p.message != p.notice and p.received_fen == 0, notes)
    out = pay(mini, factory, cash, screen)
    assert out.status is PaymentStatus.SUCCEEDED
    with unit_of_work(factory) as s:
        assert s.get(Payment, out.payment_id).received_fen == 10_000
        assert payments.unattributed_cash_fen(s, mini.till.kiosk_id) == 2000
    assert credit_of(factory, mini.household_ids[0]) == 0


def test_nobody_inserting_anything_ends_the_payment_on_its_own(factory, mini, validator, cash_sim, screen):
    from kiosk.payments.cash_collector import MSG_IDLE, CashCollector

    idle = CashCollector(validator, factory, mini.till, poll_interval_s=0.05, idle_timeout_s=0.3)
    with pytest.raises(PaymentCancelled):
        pay(mini, factory, idle, screen)
    assert screen.seen[-1].message == MSG_IDLE and not cash_sim.master_enabled


def test_a_cancelled_session_is_closed_on_record_so_later_strays_are_not_its_own(factory, mini, cash, cash_sim,
                                                                                  screen, validator):
    screen.on(lambda p: p.stage is Stage.INSERT_NOTES and p.message != p.notice and p.can_cancel,
              lambda _p: screen.control.cancel())
    with pytest.raises(PaymentCancelled):
        pay(mini, factory, cash, screen)
    with unit_of_work(factory) as s:
        last = s.scalars(select(CashEventRecord).order_by(CashEventRecord.id.desc())).first()
        assert (last.kind, last.counter) == ("session_end", cash_sim.counter)
