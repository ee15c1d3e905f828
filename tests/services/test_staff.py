"""Staff: PINs hashed, sign-in by name or staff card with lock-out, shifts and the cash handover slip."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from kiosk.domain.receipt import ReceiptKind
from kiosk.domain.terms import PaymentMethod, StaffRole
from kiosk.errors import AccountLocked, AlreadyDone, AuthError, InvalidEntry, NotFound, PermissionDenied, WrongPin
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Receipt, Shift, StaffUser
from kiosk.services import payments, staff
from tests.services.helpers import audit_actions, cash

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def wang(factory, mini):
    with unit_of_work(factory) as s:
        return staff.add_staff(s, name="王芳", role=StaffRole.STAFF, pin="135790", actor="admin:setup",
                               card_uid="5A:6B:7C:8D")


def test_pin_is_stored_as_a_salted_slow_hash(factory, wang):
    with unit_of_work(factory) as s:
        stored = s.get(StaffUser, wang.staff_id).pin_hash
    assert stored.startswith("scrypt$16384$") and "135790" not in stored
    with unit_of_work(factory) as s:
        other = staff.add_staff(s, name="李雷", role="technician", pin="135790", actor="admin:setup")
        assert s.get(StaffUser, other.staff_id).pin_hash != stored  # different salt


def test_short_pin_unknown_role_and_duplicate_name_are_refused(factory, wang):
    for kw in (dict(name="a", role="staff", pin="12345"), dict(name="b", role="boss", pin="123456"),
               dict(name="王芳", role="staff", pin="123456")):
        with pytest.raises((InvalidEntry, AlreadyDone)):
            with unit_of_work(factory) as s:
                staff.add_staff(s, actor="admin:setup", **kw)


def test_sign_in_by_name_or_staff_card(factory, wang):
    assert staff.sign_in(factory, "王芳", "135790", now=T0).staff_id == wang.staff_id
    assert staff.sign_in_by_card(factory, "5a6b7c8d", "135790", now=T0).role == StaffRole.STAFF
    with pytest.raises(AuthError):
        staff.sign_in(factory, "nobody", "135790", now=T0)
    assert "staff.signed_in" in audit_actions(factory)


def test_five_wrong_pins_lock_for_15_minutes_then_unlock(factory, wang):
    remaining = []
    for i in range(4):
        with pytest.raises(WrongPin) as err:
            staff.sign_in(factory, "王芳", "000000", now=T0 + timedelta(seconds=i))
        remaining.append(err.value.params["remaining"])
    assert remaining == [4, 3, 2, 1]
    with pytest.raises(AccountLocked) as locked:
        staff.sign_in_by_card(factory, "5A6B7C8D", "000000", now=T0 + timedelta(seconds=4))
    assert locked.value.params["until_at"] == T0 + timedelta(seconds=4, minutes=15)
    with pytest.raises(AccountLocked):
        staff.sign_in(factory, "王芳", "135790", now=T0 + timedelta(minutes=10))
    assert staff.sign_in(factory, "王芳", "135790", now=T0 + timedelta(minutes=16)).name == "王芳"
    with unit_of_work(factory) as s:
        assert s.get(StaffUser, wang.staff_id).failed_attempts == 0
    assert "staff.locked" in audit_actions(factory)


def test_roles_are_checked(factory, wang):
    with pytest.raises(PermissionDenied):
        staff.require_role(wang, StaffRole.TECHNICIAN)
    staff.require_role(staff.StaffView(1, "root", "admin", False), StaffRole.TECHNICIAN)


def test_handover_compares_counted_cash_with_the_ledger_since_the_last_handover(factory, mini, wang):
    hh = mini.household_ids[0]
    with unit_of_work(factory) as s:
        staff.open_shift(s, mini.till, staff_id=wang.staff_id)
    with pytest.raises(AlreadyDone):
        with unit_of_work(factory) as s:
            staff.open_shift(s, mini.till, staff_id=wang.staff_id)
    with unit_of_work(factory) as s:
        first = staff.close_shift(s, mini.till, staff_id=wang.staff_id, counted_cash_fen=0, language="en")
    assert first.expected_cash_fen == 0  # opening card balances come from the previous system, not the box
    payments.pay_bills(factory, mini.till, key="c1", household_id=hh, bill_ids=mini.bill_ids[hh][:1],
                       method=PaymentMethod.CASH, language="en", move_money=cash(factory, mini.till, 5_000, 5_000))
    with unit_of_work(factory) as s:
        staff.open_shift(s, mini.till, staff_id=wang.staff_id)
    with unit_of_work(factory) as s:
        view = staff.close_shift(s, mini.till, staff_id=wang.staff_id, counted_cash_fen=9_000, language="zh_Hans")
    assert (view.expected_cash_fen, view.counted_cash_fen, view.difference_fen) == (10_000, 9_000, -1_000)
    assert view.document.kind is ReceiptKind.SHIFT_HANDOVER and view.document.notes
    with unit_of_work(factory) as s:
        shift = s.scalars(select(Shift).order_by(Shift.id.desc())).first()
        assert (shift.expected_cash_fen, shift.counted_cash_fen) == (10_000, 9_000)
        assert s.get(Receipt, shift.handover_receipt_id).kind == "shift_handover"
    with pytest.raises(NotFound):
        with unit_of_work(factory) as s:
            staff.close_shift(s, mini.till, staff_id=wang.staff_id, counted_cash_fen=0, language="en")
