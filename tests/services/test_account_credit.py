"""Account credit as a payment method: alone, or first with card balance / cash / QR for the rest (split
tender); balanced entries per part, one receipt, nothing consumed when the other part fails, one effect per key."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from kiosk.domain.terms import AccountKind, BillStatus, BookingKind, EntryKind, PaymentMethod, PaymentStatus
from kiosk.errors import CardRemoved, IdempotencyConflict, InsufficientBalance, PaymentCancelled
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Bill, JournalEntry, JournalLine, Payment
from kiosk.services import bookings, card_replacement, card_value, cards, ledger, parking, payments
from tests.services.helpers import cash

CARD_START = 50_000  # tests.support.estate: every card starts with 500.00; bills are 100.00, 112.34, 124.68


def _credit(factory, hh) -> int:
    with unit_of_work(factory) as s:
        return ledger.liability_balance(s, ledger.account(s, AccountKind.CREDIT, household_id=hh))


def _card(factory, card_id) -> int:
    with unit_of_work(factory) as s:
        return cards.card_balance(s, card_id)


def _overpay(factory, mini, hh) -> None:
    """Bill 1 (100.00) paid with 100 + 200 in notes: 200.00 becomes the household's credit."""
    payments.pay_bills(factory, mini.till, key=f"over-{hh}", household_id=hh, bill_ids=mini.bill_ids[hh][:1],
                       method=PaymentMethod.CASH, language="en", move_money=cash(factory, mini.till, 10_000, 20_000))
    assert _credit(factory, hh) == 20_000


def _entries(factory, payment_id) -> list[tuple[str, str, list[tuple[str, int]]]]:
    """(kind, memo, [(account kind, fen)]) of each journal entry of the payment."""
    from kiosk.persistence.models import Account

    with unit_of_work(factory) as s:
        out = []
        for e in s.scalars(select(JournalEntry).where(JournalEntry.payment_id == payment_id).order_by(JournalEntry.id)):
            lines = s.execute(select(Account.kind, JournalLine.amount_fen).join(Account, Account.id == JournalLine.account_id)
                              .where(JournalLine.entry_id == e.id).order_by(JournalLine.id)).all()
            out.append((e.kind, e.memo, [(k, a) for k, a in lines]))
        return out


def _fields(outcome) -> dict[str, str]:
    return dict(outcome.document.fields)


def test_credit_alone_pays_a_bill_and_the_receipt_says_so(factory, mini):
    hh = mini.household_ids[0]
    _overpay(factory, mini, hh)
    out = payments.pay_bills(factory, mini.till, key="c1", household_id=hh, bill_ids=mini.bill_ids[hh][1:2],
                             method=PaymentMethod.CREDIT, language="en")
    assert out.status is PaymentStatus.SUCCEEDED and out.amount_fen == 11_234
    assert _credit(factory, hh) == 20_000 - 11_234
    assert out.document.payment_method == "Account credit"
    assert _fields(out)["Paid from account credit"] == "112.34" and _fields(out)["Account credit left"] == "87.66"
    assert _entries(factory, out.payment_id) == [
        (EntryKind.BILL_PAYMENT, f"{out.reference} credit", [("credit", 11_234), ("receivable", -11_234)])]
    with unit_of_work(factory) as s:
        assert s.get(Payment, out.payment_id).credit_fen == 11_234


def test_credit_that_does_not_cover_the_total_is_refused_before_anything_moves(factory, mini):
    hh = mini.household_ids[0]
    _overpay(factory, mini, hh)
    with pytest.raises(InsufficientBalance):
        payments.pay_bills(factory, mini.till, key="c2", household_id=hh, bill_ids=mini.bill_ids[hh][1:],
                           method=PaymentMethod.CREDIT, language="en")
    with pytest.raises(InsufficientBalance):  # a split asking for more credit than there is
        payments.pay_bills(factory, mini.till, key="c3", household_id=hh, bill_ids=mini.bill_ids[hh][1:],
                           method=PaymentMethod.CASH, language="en", credit_fen=20_001)
    with unit_of_work(factory) as s:
        assert {b.status for b in s.scalars(select(Bill).where(Bill.id.in_(mini.bill_ids[hh][1:])))} == {"open"}
        assert s.scalars(select(Payment).where(Payment.idempotency_key.in_(["c2", "c3"]))).all() == []
    assert _credit(factory, hh) == 20_000


def test_split_with_card_balance_two_balanced_entries_one_receipt(factory, mini):
    hh = mini.household_ids[0]
    _overpay(factory, mini, hh)
    card_id = mini.card_ids[hh]
    out = payments.pay_bills(factory, mini.till, key="s1", household_id=hh, bill_ids=mini.bill_ids[hh][1:],
                             method=PaymentMethod.CARD, card_id=card_id, language="en", credit_fen=20_000)
    total = 11_234 + 12_468
    assert out.status is PaymentStatus.SUCCEEDED and out.amount_fen == total
    assert _credit(factory, hh) == 0 and _card(factory, card_id) == CARD_START - (total - 20_000)
    assert out.document.payment_method == "Account credit + Card balance"
    fields = _fields(out)
    assert fields["Paid from account credit"] == "200.00" and fields["Paid by Card balance"] == "37.02"
    assert fields["Card balance before"] == "500.00" and fields["Card balance after"] == "462.98"
    assert [(k, lines) for k, _m, lines in _entries(factory, out.payment_id)] == [
        (EntryKind.BILL_PAYMENT, [("credit", 20_000), ("receivable", -20_000)]),
        (EntryKind.BILL_PAYMENT, [("stored_value", total - 20_000), ("receivable", -(total - 20_000))])]


def test_split_with_cash_asks_only_for_the_rest_and_keeps_the_overpayment_as_credit(factory, mini):
    hh = mini.household_ids[0]
    _overpay(factory, mini, hh)
    out = payments.pay_bills(factory, mini.till, key="s2", household_id=hh, bill_ids=mini.bill_ids[hh][1:2],
                             method=PaymentMethod.CASH, language="zh_Hans", credit_fen=5_000,
                             move_money=cash(factory, mini.till, 10_000))  # the rest is 62.34: a 100 note
    assert out.status is PaymentStatus.SUCCEEDED
    assert _credit(factory, hh) == 20_000 - 5_000 + (10_000 - 6_234)
    fields = _fields(out)
    assert fields["账户余额抵扣"] == "50.00" and fields["现金部分"] == "62.34"
    assert out.document.payment_method == "账户余额（预存） + 现金"
    assert "37.66" in out.document.notes[0]  # no change given: credited
    assert [lines for _k, _m, lines in _entries(factory, out.payment_id)][-2:] == [
        [("credit", 5_000), ("receivable", -5_000)], [("credit", 6_234), ("receivable", -6_234)]]


def test_split_with_qr_pays_the_rest_through_the_gateway(factory, mini):
    hh = mini.household_ids[0]
    _overpay(factory, mini, hh)

    def gateway_pays(payment):
        with unit_of_work(factory) as s:
            p = s.get(Payment, payment.id)
            assert payments.other_part(p) == 11_234 - 8_000
            payments.record_gateway_paid(s, mini.till, p, payments.other_part(p), "TXN-S3")

    out = payments.pay_bills(factory, mini.till, key="s3", household_id=hh, bill_ids=mini.bill_ids[hh][1:2],
                             method=PaymentMethod.QR, language="en", credit_fen=8_000, move_money=gateway_pays)
    assert out.status is PaymentStatus.SUCCEEDED and _credit(factory, hh) == 12_000
    assert _fields(out)["Paid by QR payment"] == "32.34"


def test_cash_part_cancelled_consumes_no_credit_and_keeps_the_notes(factory, mini):
    hh = mini.household_ids[0]
    _overpay(factory, mini, hh)
    stack = cash(factory, mini.till, 5_000)

    def half_then_cancel(payment):
        stack(payment)
        raise PaymentCancelled("the resident cancelled")

    with pytest.raises(PaymentCancelled):
        payments.pay_bills(factory, mini.till, key="f1", household_id=hh, bill_ids=mini.bill_ids[hh][1:2],
                           method=PaymentMethod.CASH, language="en", credit_fen=10_000, move_money=half_then_cancel)
    assert _credit(factory, hh) == 20_000 + 5_000  # the credit untouched, the note added to it
    with unit_of_work(factory) as s:
        p = s.scalars(select(Payment).where(Payment.idempotency_key == "f1")).one()
        assert p.status == PaymentStatus.FAILED and s.get(Bill, mini.bill_ids[hh][1]).status == BillStatus.OPEN
        assert s.scalars(select(JournalEntry).where(JournalEntry.payment_id == p.id,
                                                    JournalEntry.kind == EntryKind.BILL_PAYMENT)).all() == []


def test_card_part_failing_consumes_no_credit(factory, mini):
    hh = mini.household_ids[0]
    _overpay(factory, mini, hh)

    def card_taken_away(_payment):
        raise CardRemoved("the card left the reader")

    with pytest.raises(CardRemoved):
        payments.pay_bills(factory, mini.till, key="f2", household_id=hh, bill_ids=mini.bill_ids[hh][1:2],
                           method=PaymentMethod.CARD, card_id=mini.card_ids[hh], language="en", credit_fen=10_000,
                           move_money=card_taken_away)
    assert _credit(factory, hh) == 20_000 and _card(factory, mini.card_ids[hh]) == CARD_START


def test_credit_spent_elsewhere_before_the_cash_part_settles_fails_the_payment_and_keeps_the_cash(factory, mini):
    hh = mini.household_ids[0]
    _overpay(factory, mini, hh)
    stack = cash(factory, mini.till, 1_000)  # the rest: 112.34 - 102.34

    def meanwhile_another_kiosk_spends_the_credit(payment):
        payments.pay_bills(factory, mini.till, key="other", household_id=hh, bill_ids=mini.bill_ids[hh][2:3],
                           method=PaymentMethod.CREDIT, language="en")  # 124.68 of the 200.00
        stack(payment)

    with pytest.raises(InsufficientBalance):
        payments.pay_bills(factory, mini.till, key="f3", household_id=hh, bill_ids=mini.bill_ids[hh][1:2],
                           method=PaymentMethod.CASH, language="en", credit_fen=10_234,
                           move_money=meanwhile_another_kiosk_spends_the_credit)
    assert _credit(factory, hh) == 20_000 - 12_468 + 1_000
    with unit_of_work(factory) as s:
        assert s.scalars(select(Payment.status).where(Payment.idempotency_key == "f3")).one() == "failed"
        assert s.get(Bill, mini.bill_ids[hh][1]).status == BillStatus.OPEN


def test_retry_with_the_same_key_has_one_effect_and_a_different_split_is_refused(factory, mini):
    hh = mini.household_ids[0]
    _overpay(factory, mini, hh)
    kw = dict(key="r1", household_id=hh, bill_ids=mini.bill_ids[hh][1:2], method=PaymentMethod.CASH, language="en",
              credit_fen=5_000)
    first = payments.pay_bills(factory, mini.till, move_money=cash(factory, mini.till, 10_000), **kw)
    again = payments.pay_bills(factory, mini.till, move_money=cash(factory, mini.till, 10_000), **kw)
    assert again.replayed and again.receipt_number == first.receipt_number
    assert _credit(factory, hh) == 20_000 - 5_000 + 3_766
    with pytest.raises(IdempotencyConflict):
        payments.pay_bills(factory, mini.till, **{**kw, "credit_fen": 6_000})


def test_crash_between_the_parts_resumes_with_the_same_key_and_spends_each_part_once(factory, mini):
    hh = mini.household_ids[0]
    _overpay(factory, mini, hh)
    kw = dict(key="crash", household_id=hh, bill_ids=mini.bill_ids[hh][1:2], method=PaymentMethod.CASH,
              language="en", credit_fen=5_000)
    with unit_of_work(factory) as s:  # the intent committed, then the notes stacked: then the kiosk died
        payment, _ = payments.start_bill_payment(s, mini.till, key="crash", household_id=hh,
                                                 bill_ids=mini.bill_ids[hh][1:2], method=PaymentMethod.CASH,
                                                 credit_fen=5_000)
        payment_id = payment.id
    cash(factory, mini.till, 5_000, 2_000)(_Stub(payment_id))
    assert _credit(factory, hh) == 27_000  # the notes are credit; nothing spent yet

    def resume(payment):  # as the collector does: the money for the other part is already there
        assert payment.received_fen >= payments.other_part(payment)

    out = payments.pay_bills(factory, mini.till, move_money=resume, **kw)
    assert out.status is PaymentStatus.SUCCEEDED
    assert _credit(factory, hh) == 27_000 - 11_234
    assert len(_entries(factory, payment_id)) == 2 + 2  # two notes in, two parts out


class _Stub:
    """The payment as a crashed kiosk's collector knew it: only its id."""

    def __init__(self, payment_id: int) -> None:
        self.id = payment_id


def test_booking_and_parking_take_credit_too(factory, mini):
    from kiosk.persistence.models import ParkingSpace

    hh = mini.household_ids[0]
    _overpay(factory, mini, hh)
    booked = bookings.book(factory, mini.till, key="b1", household_id=hh, kind=BookingKind.BROADBAND,
                           slot_date=date(2026, 12, 3), period="am", method=PaymentMethod.CREDIT, language="en",
                           fees={BookingKind.BROADBAND: 5_000}, capacity=2, today=date(2026, 11, 28))
    assert booked.status == "booked" and _credit(factory, hh) == 15_000
    with unit_of_work(factory) as s:
        space = ParkingSpace(site_id=mini.till.site_id, code="B1-009", zone="B1", state="rented",
                             holder_household_id=hh, monthly_rent_fen=30_000, paid_until=date(2027, 1, 31))
        s.add(space)
        s.flush()
        space_id = space.id
    rent = parking.pay_rent(factory, mini.till, key="p1", household_id=hh, space_id=space_id, months=1,
                            method=PaymentMethod.CASH, language="en", credit_fen=15_000,
                            move_money=cash(factory, mini.till, 20_000), today=date(2026, 11, 28))
    assert rent.outcome.status is PaymentStatus.SUCCEEDED and _credit(factory, hh) == 5_000
    assert [lines for _k, _m, lines in _entries(factory, rent.outcome.payment_id)][-2:] == [
        [("credit", 15_000), ("revenue", -15_000)], [("credit", 15_000), ("revenue", -15_000)]]


def test_card_replacement_fee_paid_from_credit(factory, mini):
    hh = mini.household_ids[0]
    _overpay(factory, mini, hh)
    out = card_replacement.replace_card(factory, mini.till, key="rep", household_id=hh, old_card_id=mini.card_ids[hh],
                                  new_uid="A1B2C3E0", method=PaymentMethod.CREDIT, fee_fen=2_000, language="en")
    assert out.outcome.status is PaymentStatus.SUCCEEDED and out.transferred_fen == CARD_START
    assert _credit(factory, hh) == 18_000


def test_credit_moves_onto_the_card_with_the_card_written(factory, mini):
    hh = mini.household_ids[0]
    _overpay(factory, mini, hh)
    card_id = mini.card_ids[hh]
    with unit_of_work(factory) as s:
        uid = cards.get_card(s, card_id).uid_hex
    writes = []
    out = card_value.top_up(factory, mini.till, key="move", card_uid=uid, amount_fen=20_000,
                            method=PaymentMethod.CREDIT, language="en", write_card=writes.append)
    assert out.outcome.status is PaymentStatus.SUCCEEDED and out.card_written
    assert (writes[0].old_value_fen, writes[0].new_value_fen) == (CARD_START, CARD_START + 20_000)
    assert _credit(factory, hh) == 0 and _card(factory, card_id) == CARD_START + 20_000
    assert _fields(out.outcome)["Paid from account credit"] == "200.00"
    assert [lines for _k, _m, lines in _entries(factory, out.outcome.payment_id)] == [
        [("credit", 20_000), ("stored_value", -20_000)]]
    again = card_value.top_up(factory, mini.till, key="move", card_uid=uid, amount_fen=20_000,
                              method=PaymentMethod.CREDIT, language="en", write_card=writes.append)
    assert again.outcome.replayed and len(writes) == 1 and _card(factory, card_id) == CARD_START + 20_000


def test_split_top_up_books_the_credit_part_and_the_cash_part_apart(factory, mini):
    hh = mini.household_ids[0]
    _overpay(factory, mini, hh)
    card_id = mini.card_ids[hh]
    with unit_of_work(factory) as s:
        uid = cards.get_card(s, card_id).uid_hex
    out = card_value.top_up(factory, mini.till, key="tsplit", card_uid=uid, amount_fen=30_000,
                            method=PaymentMethod.CASH, language="en", credit_fen=20_000,
                            move_money=cash(factory, mini.till, 10_000))
    assert out.outcome.status is PaymentStatus.SUCCEEDED and out.balance_after_fen == CARD_START + 30_000
    assert _credit(factory, hh) == 0
    assert [lines for k, _m, lines in _entries(factory, out.outcome.payment_id) if k == EntryKind.TOP_UP] == [
        [("credit", 20_000), ("stored_value", -20_000)], [("credit", 10_000), ("stored_value", -10_000)]]
    assert out.outcome.document.payment_method == "Account credit + Cash"
