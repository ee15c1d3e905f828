"""Staff unlock by PIN alone: the right PIN signs its user in; five wrong ones lock the kiosk for 15 minutes."""
from __future__ import annotations

from datetime import timedelta

import pytest

from kiosk.errors import AccountLocked, WrongPin
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import utcnow
from kiosk.services import staff, staff_unlock
from tests.support import estate


@pytest.fixture
def till(factory):
    with unit_of_work(factory) as s:
        mini = estate.build(s, households=1, bills_each=0)
        staff.add_staff(s, name="li", role="staff", pin="246810", actor="test")
        staff.add_staff(s, name="chen", role="technician", pin="135790", actor="test")
    return mini.till


def test_the_right_pin_signs_in_its_owner(factory, till):
    assert staff_unlock.unlock(factory, till, "135790").name == "chen"


def test_five_wrong_pins_lock_the_kiosk_until_15_minutes_pass(factory, till):
    now = utcnow()
    for remaining in (4, 3, 2, 1):
        with pytest.raises(WrongPin) as err:
            staff_unlock.unlock(factory, till, "000000", now)
        assert err.value.params["remaining"] == remaining
    with pytest.raises(AccountLocked):
        staff_unlock.unlock(factory, till, "000000", now)
    with pytest.raises(AccountLocked):  # even the right PIN waits
        staff_unlock.unlock(factory, till, "246810", now + timedelta(minutes=14))
    assert staff_unlock.unlock(factory, till, "246810", now + timedelta(minutes=16)).name == "li"


def test_a_success_resets_the_count(factory, till):
    now = utcnow()
    for _ in range(4):
        with pytest.raises(WrongPin):
            staff_unlock.unlock(factory, till, "999999", now)
    staff_unlock.unlock(factory, till, "246810", now)
    with pytest.raises(WrongPin) as err:
        staff_unlock.unlock(factory, till, "999999", now)
    assert err.value.params["remaining"] == 4
