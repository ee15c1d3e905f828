"""One clock in the services: slips, lock messages and reference numbers carry the site's time (Asia/Shanghai
here), whatever the machine's TZ; instants stay UTC in the database."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from kiosk.domain import site_clock
from kiosk.domain.terms import PaymentMethod, StaffRole
from kiosk.errors import AccountLocked, WrongPin
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Payment, Receipt
from kiosk.receipts.layout import layout_receipt
from kiosk.services import payments, receipts, staff
from tests.services.helpers import cash

UTC = timezone.utc
T0 = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


@pytest.fixture
def fixed_clock():
    moment = [T0]
    site_clock.use_zone("Asia/Shanghai")
    site_clock.use_source(lambda: moment[0])
    return moment


@pytest.fixture
def wang(factory, mini):
    with unit_of_work(factory) as s:
        return staff.add_staff(s, name="王芳", role=StaffRole.STAFF, pin="135790", actor="admin:setup")


def test_the_handover_slip_shows_and_prints_site_times(factory, mini, wang, fixed_clock):
    with unit_of_work(factory) as s:
        staff.open_shift(s, mini.till, staff_id=wang.staff_id)
    fixed_clock[0] = T0 + timedelta(hours=8, minutes=30)  # 17:30 there
    with unit_of_work(factory) as s:
        view = staff.close_shift(s, mini.till, staff_id=wang.staff_id, counted_cash_fen=0, language="en")
    assert ("Opened at", "2026-11-28 09:00") in view.document.fields
    assert view.document.issued_at.isoformat() == "2026-11-28T17:30:00+08:00"
    printed = [line.text for line in layout_receipt(view.document).text_lines()]
    assert any(line.startswith("Time") and line.endswith("2026-11-28 17:30:00") for line in printed), printed
    with unit_of_work(factory) as s:
        stored = s.scalars(select(Receipt).where(Receipt.kind == "shift_handover")).one()
        assert stored.issued_at == T0 + timedelta(hours=8, minutes=30) and stored.issued_at.utcoffset() == timedelta(0)


def test_a_locked_account_says_until_when_on_the_sites_clock(factory, wang, fixed_clock):
    for i in range(4):
        with pytest.raises(WrongPin):
            staff.sign_in(factory, "王芳", "000000", now=T0 + timedelta(seconds=i))
    with pytest.raises(AccountLocked) as locked:
        staff.sign_in(factory, "王芳", "000000", now=T0 + timedelta(seconds=4))
    assert locked.value.params["until"] == "09:15"
    assert "09:15" in locked.value.user_message("en")


def test_a_reference_carries_the_sites_day_and_the_payment_lands_on_it(factory, mini, fixed_clock):
    fixed_clock[0] = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # 1 Dec 00:30 in Shanghai, still 30 Nov in UTC
    hh = mini.household_ids[0]
    outcome = payments.pay_bills(factory, mini.till, key="ref-day", household_id=hh, bill_ids=mini.bill_ids[hh][:1],
                                 method=PaymentMethod.CASH, language="en",
                                 move_money=cash(factory, mini.till, *[10_000] * 20))
    with unit_of_work(factory) as s:
        payment = s.scalars(select(Payment).where(Payment.idempotency_key == "ref-day")).one()
        assert payment.reference.startswith("P261201-")
        doc = receipts.document(receipts.find(s, mini.till.site_id, int(outcome.receipt_number)))
    assert doc.issued_at.isoformat() == "2026-12-01T00:30:00+08:00"
