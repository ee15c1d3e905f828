"""The real KioskServices on a seeded demo estate (both backends), devices not attached."""
from __future__ import annotations

import pytest

from kiosk.app_runtime.devices import AttachedDevices
from kiosk.app_runtime.runtime import KioskRuntime
from tests.support.demo_site import seeded_site


@pytest.fixture
def rt(engine, factory, db_url, tmp_path):
    s, db, till, _report = seeded_site(engine, factory, db_url, tmp_path / "data", households=12)
    runtime = KioskRuntime(s, db, till, AttachedDevices(None, None, None, None))
    yield runtime
    for sup in runtime.supervisors.values():
        sup.stop()
