"""Paying bills: intent first, exactly-once under races and retries, receipts without gaps."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from kiosk.domain.terms import AccountKind, BillStatus, PaymentMethod, PaymentStatus
from kiosk.errors import BillAlreadyPaid, IdempotencyConflict, InsufficientBalance, KioskError
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Bill, Payment, Receipt
from kiosk.services import ledger, payments
from tests.support import estate


@pytest.fixture
def mini(factory):
    with unit_of_work(factory) as s:
        return estate.build(s, households=3, bills_each=3)


def test_paying_bills_from_card_balance_moves_value_and_issues_a_receipt(factory, mini):
    hh = mini.household_ids[0]
    bills = mini.bill_ids[hh][:2]
    out = payments.pay_bills(factory, mini.till, key="k1", household_id=hh, bill_ids=bills,
                             method=PaymentMethod.CARD, card_id=mini.card_ids[hh], language="zh_Hans")
    assert out.status is PaymentStatus.SUCCEEDED and out.receipt_number == "00000001"
    assert out.document is not None and out.document.total_fen == 10_000 + 11_234
    with unit_of_work(factory) as s:
        assert {b.status for b in s.scalars(select(Bill).where(Bill.id.in_(bills)))} == {BillStatus.PAID}
        sv = ledger.account(s, AccountKind.STORED_VALUE, card_id=mini.card_ids[hh])
        assert ledger.liability_balance(s, sv) == 50_000 - 21_234
        receivable = ledger.account(s, AccountKind.RECEIVABLE, household_id=hh)
        assert ledger.balance(s, receivable) == 12_468  # the third bill is still owed
        assert ledger.unbalanced_entries(s) == []


def test_replay_with_same_key_returns_first_outcome_without_charging_again(factory, mini):
    hh = mini.household_ids[0]
    kw = dict(key="same", household_id=hh, bill_ids=mini.bill_ids[hh][:1], method=PaymentMethod.CARD,
              card_id=mini.card_ids[hh], language="en")
    first = payments.pay_bills(factory, mini.till, **kw)
    again = payments.pay_bills(factory, mini.till, **kw)
    assert again.replayed and again.receipt_number == first.receipt_number and again.payment_id == first.payment_id
    with unit_of_work(factory) as s:
        sv = ledger.account(s, AccountKind.STORED_VALUE, card_id=mini.card_ids[hh])
        assert ledger.liability_balance(s, sv) == 40_000
        assert s.scalar(select(func.count()).select_from(Payment)) == 1


def test_same_key_for_a_different_request_is_refused(factory, mini):
    hh = mini.household_ids[0]
    payments.pay_bills(factory, mini.till, key="dup", household_id=hh, bill_ids=mini.bill_ids[hh][:1],
                       method=PaymentMethod.CARD, card_id=mini.card_ids[hh], language="en")
    with pytest.raises(IdempotencyConflict):
        payments.pay_bills(factory, mini.till, key="dup", household_id=hh, bill_ids=mini.bill_ids[hh][1:2],
                           method=PaymentMethod.CARD, card_id=mini.card_ids[hh], language="en")


def test_paid_bill_cannot_be_paid_again(factory, mini):
    hh = mini.household_ids[0]
    bill = mini.bill_ids[hh][:1]
    payments.pay_bills(factory, mini.till, key="a", household_id=hh, bill_ids=bill, method=PaymentMethod.CARD,
                       card_id=mini.card_ids[hh], language="en")
    with pytest.raises(BillAlreadyPaid):
        payments.pay_bills(factory, mini.till, key="b", household_id=hh, bill_ids=bill, method=PaymentMethod.CARD,
                           card_id=mini.card_ids[hh], language="en")


def test_two_kiosks_racing_for_one_bill_exactly_one_wins(factory, mini):
    hh = mini.household_ids[0]
    bill = mini.bill_ids[hh][:1]
    barrier = threading.Barrier(4)

    def attempt(n: int):
        barrier.wait()
        try:
            return payments.pay_bills(factory, mini.till, key=f"race-{n}", household_id=hh, bill_ids=bill,
                                      method=PaymentMethod.CARD, card_id=mini.card_ids[hh], language="en")
        except KioskError as exc:
            return exc

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(attempt, range(4)))
    wins = [r for r in results if not isinstance(r, Exception)]
    losses = [r for r in results if isinstance(r, Exception)]
    assert len(wins) == 1 and all(isinstance(e, BillAlreadyPaid) for e in losses)
    with unit_of_work(factory) as s:
        sv = ledger.account(s, AccountKind.STORED_VALUE, card_id=mini.card_ids[hh])
        assert ledger.liability_balance(s, sv) == 40_000


def test_receipt_numbers_are_gap_free_under_concurrency(factory, mini):
    jobs = [(hh, b) for hh in mini.household_ids for b in mini.bill_ids[hh]]

    def pay(job):
        hh, bill = job
        return payments.pay_bills(factory, mini.till, key=f"g-{bill}", household_id=hh, bill_ids=[bill],
                                  method=PaymentMethod.CARD, card_id=mini.card_ids[hh], language="en")

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(pay, jobs))
    with unit_of_work(factory) as s:
        numbers = sorted(s.scalars(select(Receipt.number)))
    assert numbers == list(range(1, len(jobs) + 1))


def test_not_enough_balance_is_said_before_any_money_moves(factory, mini):
    hh = mini.household_ids[0]  # the card holds 500.00; the three bills come to 337.02
    payments.pay_bills(factory, mini.till, key="first", household_id=hh, bill_ids=mini.bill_ids[hh][2:],
                       method=PaymentMethod.CARD, card_id=mini.card_ids[hh], language="en")
    with pytest.raises(InsufficientBalance):  # 500.00 - 124.68 left, 212.34 more is fine, so add the rest
        with unit_of_work(factory) as s:
            sv = ledger.account(s, AccountKind.STORED_VALUE, card_id=mini.card_ids[hh])
            rev = ledger.account(s, AccountKind.REVENUE, fee_kind="service")
            ledger.spend_liability(s, payments.EntryKind.BILL_PAYMENT, sv, rev, 30_000)
            payments.start_bill_payment(s, mini.till, key="poor", household_id=hh, bill_ids=mini.bill_ids[hh][:2],
                                        method=PaymentMethod.CARD, card_id=mini.card_ids[hh])
    with unit_of_work(factory) as s:
        assert s.scalar(select(func.count()).select_from(Payment)) == 1
        assert {b.status for b in s.scalars(select(Bill).where(Bill.id.in_(mini.bill_ids[hh][:2])))} == {BillStatus.OPEN}


def test_failure_while_moving_money_releases_the_bills(factory, mini):
    hh = mini.household_ids[1]

    def boom(_payment):
        raise KioskError("card pulled away")

    with pytest.raises(KioskError):
        payments.pay_bills(factory, mini.till, key="f", household_id=hh, bill_ids=mini.bill_ids[hh][:1],
                           method=PaymentMethod.CARD, card_id=mini.card_ids[hh], language="en", move_money=boom)
    with unit_of_work(factory) as s:
        bill = s.get(Bill, mini.bill_ids[hh][0])
        assert bill.status == BillStatus.OPEN and bill.payment_id is None
        assert s.scalars(select(Payment.status)).one() == PaymentStatus.FAILED


@pytest.mark.parametrize("status, error", [("lost", "CardBlocked"), ("frozen", "CardFrozen"),
                                           ("replaced", "CardReplaced")])
def test_a_blocked_card_cannot_pay_bills(factory, mini, status, error):
    from kiosk.persistence.models import Card

    hh = mini.household_ids[0]
    with unit_of_work(factory) as s:
        s.get(Card, mini.card_ids[hh]).status = status
    with pytest.raises(KioskError) as err:
        payments.pay_bills(factory, mini.till, key="blocked", household_id=hh, bill_ids=mini.bill_ids[hh][:1],
                           method=PaymentMethod.CARD, card_id=mini.card_ids[hh], language="en")
    assert type(err.value).__name__ == error
    with unit_of_work(factory) as s:
        assert s.get(Bill, mini.bill_ids[hh][0]).status == BillStatus.OPEN
