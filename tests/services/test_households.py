"""Households: outstanding bills, summary from the ledger, unit + PIN with lock-out."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from kiosk.domain.terms import MemberTier
from kiosk.errors import AccountLocked, AlreadyDone, InvalidEntry, NotFound, WrongPin
from kiosk.persistence.db import make_engine, unit_of_work
from kiosk.persistence.models import Bill, Household, Resident
from kiosk.services import households, pins
from tests.services.helpers import audit_actions
from tests.support.chain_key import bound_factory

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=timezone.utc)


def test_outstanding_bills_are_open_ones_oldest_due_first(factory, mini):
    hh = mini.household_ids[0]
    with unit_of_work(factory) as s:
        s.get(Bill, mini.bill_ids[hh][0]).status = "paid"
    with unit_of_work(factory) as s:
        bills = households.outstanding_bills(s, hh, "en", today=date(2026, 9, 30))
    assert [b.bill_id for b in bills] == mini.bill_ids[hh][1:]
    assert [b.overdue for b in bills] == [True, False] and bills[0].label == "Water"


def test_summary_totals_bills_and_reads_balances_from_the_ledger(factory, mini):
    hh = mini.household_ids[1]
    with unit_of_work(factory) as s:
        s.add(Resident(household_id=hh, name="金卡", tier=str(MemberTier.GOLD)))
    with unit_of_work(factory) as s:
        summary = households.household_summary(s, hh, "zh_Hans")
    assert summary.total_due_fen == 10_000 + 11_234 + 12_468 and len(summary.bills) == 3
    assert [c.balance_fen for c in summary.cards] == [50_000] and summary.credit_fen == 0
    assert summary.tier == "gold" and summary.unit_masked == "1-**01"


def _with_pin(factory, mini, pin="258046"):
    hh = mini.household_ids[0]
    with unit_of_work(factory) as s:
        households.set_household_pin(s, hh, pin, actor="staff:wang")
        return s.get(Household, hh).unit_no


def test_right_pin_identifies_the_household_and_the_pin_is_stored_hashed(factory, mini):
    unit = _with_pin(factory, mini)
    who = households.identify_by_pin(factory, mini.till.site_id, unit, "258046", now=T0)
    assert who.household_id == mini.household_ids[0]
    with unit_of_work(factory) as s:
        stored = s.get(Household, who.household_id).pin_hash
    assert stored.startswith("scrypt$") and "258046" not in stored


def test_unknown_unit_and_short_pin_are_refused(factory, mini):
    with pytest.raises(NotFound):
        households.identify_by_pin(factory, mini.till.site_id, "9-9999", "258046", now=T0)
    with pytest.raises(InvalidEntry):
        with unit_of_work(factory) as s:
            households.set_household_pin(s, mini.household_ids[0], "12a", actor="staff:wang")


def test_five_wrong_pins_lock_the_unit_for_15_minutes_then_it_unlocks(factory, mini):
    unit = _with_pin(factory, mini)
    remaining = []
    for i in range(4):
        with pytest.raises(WrongPin) as err:
            households.identify_by_pin(factory, mini.till.site_id, unit, "000000", now=T0 + timedelta(seconds=i))
        remaining.append(err.value.params["remaining"])
    assert remaining == [4, 3, 2, 1]
    with pytest.raises(AccountLocked):
        households.identify_by_pin(factory, mini.till.site_id, unit, "000000", now=T0 + timedelta(seconds=5))
    with pytest.raises(AccountLocked):  # even the right PIN is refused while locked
        households.identify_by_pin(factory, mini.till.site_id, unit, "258046", now=T0 + timedelta(minutes=14))
    who = households.identify_by_pin(factory, mini.till.site_id, unit, "258046", now=T0 + timedelta(minutes=16))
    assert who.household_id == mini.household_ids[0]
    assert "household.locked" in audit_actions(factory)


def test_a_new_household_pin_needs_at_least_six_digits(factory, mini):
    for short in ("12345", "2580", "1234a6"):
        with pytest.raises(InvalidEntry):
            with unit_of_work(factory) as s:
                households.set_household_pin(s, mini.household_ids[0], short, actor="staff:wang")
    unit = _with_pin(factory, mini, "123456789012")  # 6 to 12 digits
    assert households.identify_by_pin(factory, mini.till.site_id, unit, "123456789012", now=T0).unit_no == unit


def test_a_shorter_pin_stored_before_the_rule_keeps_working_until_it_is_changed(factory, mini):
    hh = mini.household_ids[0]
    with unit_of_work(factory) as s:
        row = s.get(Household, hh)
        row.pin_hash, unit = pins.hash_pin("2580"), row.unit_no  # as an older kiosk stored it
    assert households.identify_by_pin(factory, mini.till.site_id, unit, "2580", now=T0).household_id == hh
    _with_pin(factory, mini, "864209")
    with pytest.raises(WrongPin):
        households.identify_by_pin(factory, mini.till.site_id, unit, "2580", now=T0)


def _lock(factory, mini, unit):
    for i in range(5):
        with pytest.raises((WrongPin, AccountLocked)):
            households.identify_by_pin(factory, mini.till.site_id, unit, "000000", now=T0 + timedelta(seconds=i))


def test_the_lock_out_is_in_the_database_and_survives_a_restart(db_url, factory, mini):
    unit = _with_pin(factory, mini)
    _lock(factory, mini, unit)
    restarted = make_engine(db_url)  # a new process: nothing kept in memory
    try:
        with pytest.raises(AccountLocked) as locked:
            households.identify_by_pin(bound_factory(restarted), mini.till.site_id, unit, "258046",
                                       now=T0 + timedelta(minutes=10))
    finally:
        restarted.dispose()
    assert locked.value.params["until_at"] == T0 + timedelta(seconds=4) + pins.LOCK_FOR


def test_the_lock_out_is_per_household(factory, mini):
    unit = _with_pin(factory, mini)
    other = mini.household_ids[1]
    with unit_of_work(factory) as s:
        households.set_household_pin(s, other, "135791", actor="staff:wang")
        other_unit = s.get(Household, other).unit_no
    _lock(factory, mini, unit)
    who = households.identify_by_pin(factory, mini.till.site_id, other_unit, "135791", now=T0 + timedelta(seconds=6))
    assert who.household_id == other


def test_staff_clear_a_lock_out_and_it_is_audited(factory, mini):
    unit = _with_pin(factory, mini)
    _lock(factory, mini, unit)
    with unit_of_work(factory) as s:
        before = households.clear_pin_lockout(s, mini.till.site_id, unit, actor="staff:li",
                                              now=T0 + timedelta(minutes=1))
    assert before.failed == 5 and before.locked(T0 + timedelta(minutes=1))
    who = households.identify_by_pin(factory, mini.till.site_id, unit, "258046", now=T0 + timedelta(minutes=2))
    assert who.household_id == mini.household_ids[0]
    assert "household.lockout_cleared" in audit_actions(factory)
    with pytest.raises(AlreadyDone):  # nothing left to clear
        with unit_of_work(factory) as s:
            households.clear_pin_lockout(s, mini.till.site_id, unit, actor="staff:li")
    with pytest.raises(NotFound):
        with unit_of_work(factory) as s:
            households.clear_pin_lockout(s, mini.till.site_id, "9-9999", actor="staff:li")
