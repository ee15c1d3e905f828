"""`kiosk household pin|unlock` end to end through `python -m kiosk`: a new PIN needs 6 digits, staff in the office
clear a lock-out, both audited as the office."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from kiosk.errors import AccountLocked, WrongPin
from kiosk.persistence.db import make_engine, unit_of_work
from kiosk.persistence.models import AuditEntry, Site
from kiosk.services import households
from tests.cli.test_office_commands import kiosk, seeded  # noqa: F401 (fixture)
from tests.support.chain_key import data_dir_factory


def test_a_household_pin_is_set_with_six_digits_and_a_lock_out_is_cleared_from_the_office(seeded, db_url):  # noqa: F811
    short = kiosk(seeded, db_url, "household", "pin", "1-0101", stdin="12345\n")
    assert short.returncode == 5 and "E3010" in short.stderr and "Traceback" not in short.stderr
    assert kiosk(seeded, db_url, "household", "pin", "1-0101", stdin="864209\n").returncode == 0
    engine = make_engine(db_url)
    factory = data_dir_factory(engine, seeded)  # a kiosk of the same estate: the audit key of the seeded data dir
    try:
        with unit_of_work(factory) as s:
            site_id = s.scalars(select(Site.id)).one()
        for _ in range(4):
            with pytest.raises(WrongPin):
                households.identify_by_pin(factory, site_id, "1-0101", "123456")  # the demo PIN: changed
        with pytest.raises(AccountLocked):
            households.identify_by_pin(factory, site_id, "1-0101", "123456")
        out = kiosk(seeded, db_url, "household", "unlock", "1-0101")
        assert out.returncode == 0 and "lock-out cleared (5 wrong PINs)" in out.stdout, out.stderr
        assert households.identify_by_pin(factory, site_id, "1-0101", "864209").unit_no == "1-0101"
        again = kiosk(seeded, db_url, "household", "unlock", "1-0101")
        assert again.returncode == 5 and "E3011" in again.stderr
        unknown = kiosk(seeded, db_url, "household", "unlock", "9-9999")
        assert unknown.returncode == 5 and "E3006" in unknown.stderr
        with unit_of_work(factory) as s:
            actions = [(a.actor, a.action) for a in s.scalars(select(AuditEntry).where(AuditEntry.subject == "1-0101"))]
        assert ("cli:office", "household.pin_set") in actions and ("cli:office", "household.lockout_cleared") in actions
    finally:
        engine.dispose()
