"""Bookings: slots with capacity, fee paid with purpose BOOKING, unique ticket numbers, cancel with refund."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from sqlalchemy import select

from kiosk.domain.terms import AccountKind, BookingKind, PaymentMethod, PaymentStatus
from kiosk.errors import AlreadyDone, InsufficientBalance, KioskError, SlotUnavailable
from kiosk.i18n import translate
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Booking, Payment
from kiosk.services import bookings, ledger

FEES = {BookingKind.BROADBAND: 5_000, BookingKind.GAS: 8_000}
TODAY = date(2026, 11, 28)
DAY = date(2026, 12, 3)


def _book(factory, mini, key, hh=None, period="am", capacity=2, **kw):
    hh = hh or mini.household_ids[0]
    return bookings.book(factory, mini.till, key=key, household_id=hh, kind=kw.pop("kind", BookingKind.BROADBAND),
                         slot_date=kw.pop("slot_date", DAY), period=period, method=PaymentMethod.CARD,
                         language="zh_Hans", fees=FEES, capacity=capacity, card_id=mini.card_ids[hh], today=TODAY, **kw)


def test_booking_takes_the_fee_and_gives_a_readable_ticket(factory, mini):
    out = _book(factory, mini, "b1")
    assert out.status == "booked" and out.ticket_no == "HY261203A-001"
    assert out.outcome.status is PaymentStatus.SUCCEEDED and out.outcome.amount_fen == 5_000
    with unit_of_work(factory) as s:
        assert s.get(Payment, out.outcome.payment_id).purpose == "booking"
        assert ledger.balance(s, ledger.account(s, AccountKind.REVENUE, fee_kind="booking")) == -5_000
        views = bookings.slots(s, mini.till.site_id, DAY, 1, 2, "en")
    assert [(v.period, v.taken, v.free) for v in views] == [("am", 1, 1), ("pm", 0, 2)]
    assert (translate("Ticket number", "zh_Hans"), "HY261203A-001") in out.outcome.document.fields


def test_options_list_the_kinds_with_a_fee(factory):
    assert [(o.kind, o.fee_fen) for o in bookings.booking_options(FEES, "en")] == [("broadband", 5_000), ("gas", 8_000)]


def test_full_slot_is_refused_and_nothing_is_charged(factory, mini):
    _book(factory, mini, "b1", capacity=1)
    with pytest.raises(SlotUnavailable):
        _book(factory, mini, "b2", hh=mini.household_ids[1], capacity=1)
    with unit_of_work(factory) as s:
        assert s.scalar(select(Payment.id).where(Payment.idempotency_key == "b2")) is None


def test_past_slot_and_bad_period_are_refused(factory, mini):
    with pytest.raises(SlotUnavailable):
        _book(factory, mini, "b3", slot_date=TODAY)
    with pytest.raises(SlotUnavailable):
        _book(factory, mini, "b4", period="night")


def test_two_kiosks_racing_for_the_last_place_exactly_one_wins(factory, mini):
    barrier = threading.Barrier(2)

    def attempt(hh):
        barrier.wait()
        try:
            return _book(factory, mini, f"race-{hh}", hh=hh, capacity=1)
        except KioskError as exc:
            return exc

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(attempt, mini.household_ids))
    assert sum(isinstance(r, bookings.BookingResult) for r in results) == 1
    assert [type(r) for r in results if isinstance(r, Exception)] == [SlotUnavailable]


def test_replay_returns_the_same_ticket(factory, mini):
    first = _book(factory, mini, "same")
    again = _book(factory, mini, "same")
    assert again.ticket_no == first.ticket_no and again.outcome.replayed


def test_failed_payment_gives_the_place_back(factory, mini):
    def boom(_p):
        raise InsufficientBalance()

    with pytest.raises(InsufficientBalance):
        _book(factory, mini, "b5", capacity=1, move_money=boom)
    with unit_of_work(factory) as s:
        assert s.scalars(select(Booking.status)).all() == ["cancelled"]
    assert _book(factory, mini, "b6", capacity=1).ticket_no == "HY261203A-002"


def test_cancel_frees_the_place_and_refunds_as_credit_once(factory, mini):
    hh = mini.household_ids[0]
    out = _book(factory, mini, "b7")
    with unit_of_work(factory) as s:
        res = bookings.cancel_booking(s, mini.till, booking_id=out.booking_id, household_id=hh, actor="unit:1-0101",
                                      today=TODAY)
        assert res.status == "cancelled"
        assert ledger.liability_balance(s, ledger.account(s, AccountKind.CREDIT, household_id=hh)) == 5_000
    with pytest.raises(AlreadyDone):
        with unit_of_work(factory) as s:
            bookings.cancel_booking(s, mini.till, booking_id=out.booking_id, household_id=hh, actor="x", today=TODAY)
