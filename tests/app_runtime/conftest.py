"""The real KioskServices on a seeded demo estate (both backends): devices not attached (`rt`), or `kiosk demo`'s
runtime on the wire-level simulators (`demo_on_sims`)."""
from __future__ import annotations

import pytest

from kiosk.app_runtime.devices import AttachedDevices
from kiosk.app_runtime.runtime import KioskRuntime
from tests.support.demo_site import seeded_site, start_demo


@pytest.fixture
def rt(engine, factory, db_url, tmp_path):
    s, db, till, _report = seeded_site(engine, factory, db_url, tmp_path / "data", households=12)
    runtime = KioskRuntime(s, db, till, AttachedDevices(None, None, None, None))
    yield runtime
    for sup in runtime.supervisors.values():
        sup.stop()


@pytest.fixture
def demo_on_sims(engine, factory, db_url, tmp_path):  # type: ignore[no-untyped-def]
    """(runtime, simulators) of `kiosk demo` on three demo households, its card reader up."""
    s, db, _till, _report = seeded_site(engine, factory, db_url, tmp_path / "data", households=3)
    runtime, sims = start_demo(s, db)
    yield runtime, sims
    runtime.stop()
