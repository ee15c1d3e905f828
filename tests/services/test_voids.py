"""Voids: a reversing entry, payment VOIDED, the receipt keeps its number, a VOID receipt, bills reopen."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from kiosk.domain.terms import AccountKind, BillStatus, BookingKind, EntryKind, PaymentMethod, PaymentStatus
from kiosk.errors import InsufficientBalance, InvalidEntry, NotFound, ReceiptAlreadyVoided
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Bill, Booking, JournalEntry, ParkingSpace, Payment, Receipt
from kiosk.services import bookings, card_value, cards, ledger, parking, payments, voids
from tests.services.helpers import audit_actions, cash


def _balances(factory, mini, hh):
    with unit_of_work(factory) as s:
        return (ledger.balance(s, ledger.account(s, AccountKind.RECEIVABLE, household_id=hh)),
                ledger.liability_balance(s, ledger.account(s, AccountKind.STORED_VALUE, card_id=mini.card_ids[hh])),
                ledger.liability_balance(s, ledger.account(s, AccountKind.CREDIT, household_id=hh)))


def _void(factory, mini, number, reason="wrong bill"):
    with unit_of_work(factory) as s:
        return voids.void_receipt(s, mini.till, number=number, reason=reason, actor="staff:王芳", language="en")


def test_void_of_a_card_payment_balances_the_ledger_back_and_keeps_the_number(factory, mini):
    hh = mini.household_ids[0]
    before = _balances(factory, mini, hh)
    out = payments.pay_bills(factory, mini.till, key="v1", household_id=hh, bill_ids=mini.bill_ids[hh][:2],
                             method=PaymentMethod.CARD, card_id=mini.card_ids[hh], language="en")
    result = _void(factory, mini, out.receipt_number)
    assert result.receipt_number == out.receipt_number and result.void_receipt_number == "00000002"
    assert _balances(factory, mini, hh) == before
    with unit_of_work(factory) as s:
        original = s.scalars(select(Receipt).where(Receipt.number == 1)).one()
        assert original.voided and original.void_reason == "wrong bill" and original.number == 1
        assert s.get(Receipt, original.void_receipt_id).kind == "void"
        assert s.get(Payment, out.payment_id).status == PaymentStatus.VOIDED
        assert {b.status for b in s.scalars(select(Bill).where(Bill.id.in_(mini.bill_ids[hh][:2])))} == {BillStatus.OPEN}
        reversal = s.scalars(select(JournalEntry).where(JournalEntry.kind == str(EntryKind.VOID))).one()
        assert reversal.reverses_entry_id is not None and reversal.payment_id == out.payment_id
    assert result.document.total_fen == -out.amount_fen and "receipt.voided" in audit_actions(factory)
    # the card's copy of its value is brought back in line on its next tap
    assert [(w.kind, w.old_value_fen, w.new_value_fen) for w in result.card_writes] == \
        [("sync", 50_000 - out.amount_fen, 50_000)]
    # the reopened bills can be paid again
    again = payments.pay_bills(factory, mini.till, key="v1b", household_id=hh, bill_ids=mini.bill_ids[hh][:2],
                               method=PaymentMethod.CARD, card_id=mini.card_ids[hh], language="en")
    assert again.status is PaymentStatus.SUCCEEDED


def test_voiding_twice_for_another_reason_is_refused(factory, mini):
    hh = mini.household_ids[0]
    out = payments.pay_bills(factory, mini.till, key="v2", household_id=hh, bill_ids=mini.bill_ids[hh][:1],
                             method=PaymentMethod.CARD, card_id=mini.card_ids[hh], language="en")
    _void(factory, mini, out.receipt_number)
    with pytest.raises(ReceiptAlreadyVoided):
        _void(factory, mini, out.receipt_number, reason="duplicate")  # the same reason is a retry: test_void_retries


def test_void_of_a_cash_payment_leaves_the_notes_as_household_credit(factory, mini):
    hh = mini.household_ids[1]
    out = payments.pay_bills(factory, mini.till, key="v3", household_id=hh, bill_ids=mini.bill_ids[hh][:1],
                             method=PaymentMethod.CASH, language="en", move_money=cash(factory, mini.till, 10_000))
    receivable_before, stored, _credit = _balances(factory, mini, hh)
    result = _void(factory, mini, int(out.receipt_number))
    assert result.returned_to == "credit"
    assert _balances(factory, mini, hh) == (receivable_before + 10_000, stored, 10_000)
    assert result.card_writes == ()  # no card value changed


def test_void_without_reason_unknown_number_or_no_payment_is_refused(factory, mini):
    hh = mini.household_ids[0]
    with pytest.raises(NotFound):
        _void(factory, mini, 99)
    with unit_of_work(factory) as s:
        cards.report_loss(s, mini.till, household_id=hh, card_id=mini.card_ids[hh], language="en")
    with pytest.raises(NotFound):  # a loss report has no payment behind it
        _void(factory, mini, 1)
    with pytest.raises(InvalidEntry):
        _void(factory, mini, 1, reason="  ")


def test_void_of_a_spent_top_up_is_refused_so_stored_value_never_goes_negative(factory, mini):
    hh = mini.household_ids[0]
    with unit_of_work(factory) as s:
        uid = s.get(cards.Card, mini.card_ids[hh]).uid_hex
    top = card_value.top_up(factory, mini.till, key="v4", card_uid=uid, amount_fen=20_000, method=PaymentMethod.CASH,
                            language="en", move_money=cash(factory, mini.till, 20_000))
    with unit_of_work(factory) as s:
        sv = ledger.account(s, AccountKind.STORED_VALUE, card_id=mini.card_ids[hh])
        ledger.spend_liability(s, EntryKind.BILL_PAYMENT, sv, ledger.account(s, AccountKind.REVENUE, fee_kind="service"),
                               60_000)
    with pytest.raises(InsufficientBalance):
        _void(factory, mini, top.outcome.receipt_number)
    with unit_of_work(factory) as s:
        assert s.get(Payment, top.outcome.payment_id).status == PaymentStatus.SUCCEEDED


def test_void_cancels_a_booking_and_restores_parking_paid_until(factory, mini):
    hh = mini.household_ids[0]
    booked = bookings.book(factory, mini.till, key="v5", household_id=hh, kind=BookingKind.TV, slot_date=date(2026, 12, 9),
                           period="pm", method=PaymentMethod.CARD, language="en", fees={BookingKind.TV: 3_000},
                           capacity=3, card_id=mini.card_ids[hh], today=date(2026, 11, 28))
    with unit_of_work(factory) as s:
        space = ParkingSpace(site_id=mini.till.site_id, code="P-9", zone="G", state="rented", holder_household_id=hh,
                             monthly_rent_fen=10_000, paid_until=date(2026, 12, 31))
        s.add(space)
        s.flush()
        space_id = space.id
    rent = parking.pay_rent(factory, mini.till, key="v6", household_id=hh, space_id=space_id, months=2,
                            method=PaymentMethod.CARD, card_id=mini.card_ids[hh], language="en", today=date(2026, 11, 28))
    assert rent.paid_until == date(2027, 2, 28)
    _void(factory, mini, booked.outcome.receipt_number)
    _void(factory, mini, rent.outcome.receipt_number)
    with unit_of_work(factory) as s:
        assert s.get(Booking, booked.booking_id).status == "cancelled"
        assert s.get(ParkingSpace, space_id).paid_until == date(2026, 12, 31)
        assert ledger.liability_balance(s, ledger.account(s, AccountKind.STORED_VALUE, card_id=mini.card_ids[hh])) == 50_000
