"""The real facade on the demo estate (both backends): five wrong PINs lock the household in the database, staff see
the lock-out with the household's cards and clear it, audited with the staff member."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from kiosk.errors import AccountLocked, AlreadyDone, WrongPin
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import AuditEntry


def test_five_wrong_pins_lock_the_household_and_staff_clear_it(rt, factory):
    svc = rt.services
    for _ in range(4):
        with pytest.raises(WrongPin):
            svc.identify_unit("1-0402", "000000")
    with pytest.raises(AccountLocked):
        svc.identify_unit("1-0402", "000000")
    with pytest.raises(AccountLocked):  # the right PIN waits too
        svc.identify_unit("1-0402", "123456")
    who = svc.staff_sign_in("246810")
    found = svc.staff_household_cards(who.staff_id, unit="1-0402")
    assert found.pin_failed == 5 and found.pin_locked_until is not None and found.pin_lockout
    cleared = svc.staff_clear_pin_lockout(who.staff_id, "1-0402")
    assert (cleared.pin_failed, cleared.pin_locked_until, cleared.cards) == (0, None, found.cards)
    assert svc.identify_unit("1-0402", "123456").unit_label
    with pytest.raises(AlreadyDone):
        svc.staff_clear_pin_lockout(who.staff_id, "1-0402")
    with unit_of_work(factory) as s:
        row = s.scalars(select(AuditEntry).where(AuditEntry.action == "household.lockout_cleared")).one()
    assert row.actor == f"staff:{who.name}" and row.subject == "1-0402"
    assert json.loads(row.details)["failed"] == 5 and json.loads(row.details)["was_locked"] is True
