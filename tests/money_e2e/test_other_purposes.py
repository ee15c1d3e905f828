"""Top-up, bookings and parking take cash and QR through the same `move_money`; card balance pays bills at ledger level."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from kiosk.domain.terms import AccountKind, BillStatus, BookingKind, EntryKind, PaymentMethod, PaymentStatus
from kiosk.errors import InsufficientBalance, PaymentCancelled
from kiosk.payments.control import Stage
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Bill, Card, CardOperation, ParkingSpace, Payment
from kiosk.services import bookings, card_value, ledger, parking, payments


def start_feeding(screen, cash_sim, *notes):
    plan = list(notes)
    total = 0
    for note in plan:
        screen.on(lambda p, at=total: p.stage is Stage.INSERT_NOTES and p.message != p.notice and p.received_fen == at,
                  lambda _p, note=note: cash_sim.insert_note(note))
        total += note * 100


def test_cash_top_up_lands_on_the_card_value_and_the_writer_gets_the_new_balance(factory, mini, cash, cash_sim,
                                                                                  screen):
    hh = mini.household_ids[0]
    with unit_of_work(factory) as s:
        uid = s.get(Card, mini.card_ids[hh]).uid_hex
    written = []
    start_feeding(screen, cash_sim, 100)
    result = card_value.top_up(factory, mini.till, key="top-cash", card_uid=uid, amount_fen=10_000,
                               method=PaymentMethod.CASH, language="en", move_money=cash.as_move_money(screen.control),
                               write_card=written.append)
    assert result.outcome.status is PaymentStatus.SUCCEEDED and result.card_written
    assert (result.balance_before_fen, result.balance_after_fen) == (50_000, 60_000)
    assert [w.new_value_fen for w in written] == [60_000]
    with unit_of_work(factory) as s:
        sv = ledger.account(s, AccountKind.STORED_VALUE, card_id=mini.card_ids[hh])
        assert ledger.liability_balance(s, sv) == 60_000
        assert s.scalars(select(CardOperation).where(CardOperation.status == "done")).one()


def test_qr_top_up_lands_value_too(factory, mini, qr, gateway_sim, screen):
    hh = mini.household_ids[0]
    with unit_of_work(factory) as s:
        uid = s.get(Card, mini.card_ids[hh]).uid_hex
    screen.on(lambda p: p.stage is Stage.SCAN_QR and bool(p.code_url),
              lambda p: gateway_sim.pay(p.code_url.rsplit("/", 1)[-1], notify="once", delay_s=0))
    result = card_value.top_up(factory, mini.till, key="top-qr", card_uid=uid, amount_fen=5_000,
                               method=PaymentMethod.QR, language="en", move_money=qr.as_move_money(screen.control))
    assert result.outcome.status is PaymentStatus.SUCCEEDED and result.balance_after_fen == 55_000


def test_booking_paid_in_cash_issues_the_ticket(factory, mini, cash, cash_sim, screen):
    start_feeding(screen, cash_sim, 50, 50)
    result = bookings.book(factory, mini.till, key="book-cash", household_id=mini.household_ids[0],
                           kind=BookingKind.BROADBAND, slot_date=date.today() + timedelta(days=2), period="am",
                           method=PaymentMethod.CASH, language="en", fees={"broadband": 10_000}, capacity=3,
                           move_money=cash.as_move_money(screen.control))
    assert result.status == "booked" and result.outcome.status is PaymentStatus.SUCCEEDED and result.ticket_no
    assert cash_sim.stacked_fen == 10_000


def test_booking_cancelled_at_the_acceptor_gives_the_place_back_and_keeps_the_note_as_credit(factory, mini, cash,
                                                                                               cash_sim, screen):
    start_feeding(screen, cash_sim, 50)
    screen.on(lambda p: p.received_fen == 5000, lambda _p: screen.control.cancel())
    with pytest.raises(PaymentCancelled):
        bookings.book(factory, mini.till, key="book-cancel", household_id=mini.household_ids[0],
                      kind=BookingKind.TV, slot_date=date.today() + timedelta(days=2), period="pm",
                      method=PaymentMethod.CASH, language="en", fees={"tv": 10_000}, capacity=1,
                      move_money=cash.as_move_money(screen.control))
    with unit_of_work(factory) as s:
        credit = ledger.account(s, AccountKind.CREDIT, household_id=mini.household_ids[0])
        assert ledger.liability_balance(s, credit) == 5000
    # The only place in the slot is free again: the household books it from the card.
    again = bookings.book(factory, mini.till, key="book-again", household_id=mini.household_ids[0],
                          kind=BookingKind.TV, slot_date=date.today() + timedelta(days=2), period="pm",
                          method=PaymentMethod.CARD, card_id=mini.card_ids[mini.household_ids[0]], language="en",
                          fees={"tv": 10_000}, capacity=1)
    assert again.status == "booked"


def test_parking_rent_paid_by_qr_moves_paid_until(factory, mini, qr, gateway_sim, screen):
    hh = mini.household_ids[0]
    with unit_of_work(factory) as s:
        space = ParkingSpace(site_id=mini.till.site_id, code="B1-009", zone="B1", state="rented",
                             holder_household_id=hh, monthly_rent_fen=30_000, paid_until=date(2027, 1, 31))
        s.add(space)
        s.flush()
        space_id = space.id
    screen.on(lambda p: p.stage is Stage.SCAN_QR and bool(p.code_url),
              lambda p: gateway_sim.pay(p.code_url.rsplit("/", 1)[-1], notify="never"))
    result = parking.pay_rent(factory, mini.till, key="park-qr", household_id=hh, space_id=space_id, months=2,
                              method=PaymentMethod.QR, language="en", move_money=qr.as_move_money(screen.control))
    assert result.outcome.status is PaymentStatus.SUCCEEDED and result.paid_until == date(2027, 3, 31)


def test_card_balance_pays_bills_when_enough(factory, mini):
    hh = mini.household_ids[0]
    out = payments.pay_bills(factory, mini.till, key="card-ok", household_id=hh, bill_ids=mini.bill_ids[hh][:2],
                             method=PaymentMethod.CARD, card_id=mini.card_ids[hh], language="en")
    assert out.status is PaymentStatus.SUCCEEDED
    with unit_of_work(factory) as s:
        sv = ledger.account(s, AccountKind.STORED_VALUE, card_id=mini.card_ids[hh])
        assert ledger.liability_balance(s, sv) == 50_000 - 21_234


def test_card_balance_not_enough_is_refused_before_anything_moves(factory, mini):
    hh = mini.household_ids[0]
    with unit_of_work(factory) as s:  # most of the card was spent on a paid service earlier
        sv = ledger.account(s, AccountKind.STORED_VALUE, card_id=mini.card_ids[hh])
        ledger.spend_liability(s, EntryKind.BILL_PAYMENT, sv,
                               ledger.account(s, AccountKind.REVENUE, fee_kind="service"), 45_000)
    with pytest.raises(InsufficientBalance):
        payments.pay_bills(factory, mini.till, key="card-short", household_id=hh, bill_ids=mini.bill_ids[hh][:1],
                           method=PaymentMethod.CARD, card_id=mini.card_ids[hh], language="en")
    with unit_of_work(factory) as s:
        assert s.scalars(select(Payment)).all() == []  # the intent was rolled back with the refusal
        assert s.get(Bill, mini.bill_ids[hh][0]).status == BillStatus.OPEN
        sv = ledger.account(s, AccountKind.STORED_VALUE, card_id=mini.card_ids[hh])
        assert ledger.liability_balance(s, sv) == 5_000
