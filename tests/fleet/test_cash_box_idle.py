"""A cash box taken out while nobody pays: a running kiosk on the simulators (the ccTalk validator on its pty) reads
the validator's event buffer between payments, the heartbeat says the box is removed, the sticky alert is raised
once, the heartbeat is back to "in" when the box is replaced and the alert stays until staff clear it; a box taken
out during a staff handover raises nothing (docs/office.md). On SQLite and PostgreSQL."""
from __future__ import annotations

import json
import time
from datetime import timedelta

from sqlalchemy import select

from kiosk.app_runtime.demo import DemoSimulators
from kiosk.app_runtime.wiring import build_runtime, start_runtime
from kiosk.fleet import alerts, status
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import CashEventRecord, DeviceEvent, FleetAlert, KioskHeartbeat
from kiosk.services import staff
from kiosk.settings import FleetSettings
from tests.support.demo_site import seeded_site

CFG = FleetSettings()
NOW = timedelta(0)  # the handover grace, so that the test need not wait ten minutes


def _wait(predicate, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def _box(rt, factory) -> str:  # type: ignore[no-untyped-def]
    assert rt.fleet.beat()
    with unit_of_work(factory) as s:
        row = s.scalar(select(KioskHeartbeat).where(KioskHeartbeat.kiosk_code == rt.till.kiosk_code))
        return str(json.loads(row.devices)["cash"].get("box"))


def _box_alerts(factory, code: str) -> list[FleetAlert]:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as s:
        return list(s.scalars(select(FleetAlert).where(FleetAlert.kiosk_code == code,
                                                       FleetAlert.kind == "cash_box_removed")))


def _clocks(rt, factory) -> str:  # type: ignore[no-untyped-def]
    """What the alert compares, for a failure's message: the removal's stamp, the database's clock, the offset."""
    from kiosk.domain import site_clock
    from kiosk.fleet import dbtime

    with unit_of_work(factory) as s:
        row = s.scalar(select(KioskHeartbeat).where(KioskHeartbeat.kiosk_code == rt.till.kiosk_code))
        removed = json.loads(row.devices)["cash"].get("box_removed_at")
        return f"removed at {removed}, database now {dbtime.now(s).isoformat()}, " \
               f"offset {site_clock.database_offset_s():+.3f} s"


def _evaluate(factory) -> alerts.Changes:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as s:
        return alerts.evaluate(s, CFG, handover_grace=NOW)


def _running(engine, factory, db_url, tmp_path):  # type: ignore[no-untyped-def]
    s, db, _till, _ = seeded_site(engine, factory, db_url, tmp_path / "data", households=1)
    sims = DemoSimulators(s.data_dir, s.secrets.gateway_secret).start()
    rt = build_runtime(sims.settings_for(s), db)
    rt.on_stop(sims.stop)
    start_runtime(rt)
    assert rt.supervisors["cash"].wait_available(10) and rt.recovered.wait(20)
    return rt, sims


def test_a_cash_box_removed_while_idle_raises_one_sticky_alert_that_stays_after_it_is_back(engine, factory, db_url,
                                                                                          tmp_path):
    rt, sims = _running(engine, factory, db_url, tmp_path)
    code = rt.till.kiosk_code
    try:
        assert _box(rt, factory) == "in" and _evaluate(factory).raised == ()
        sims.cash.remove_stacker()  # nobody is paying: only the idle watch reads the validator
        assert _wait(lambda: _box(rt, factory) == "removed")
        row = next(r for r in _fleet(factory) if r.kiosk_code == code)
        assert row.colour is status.Colour.RED and "cash box removed" in row.reasons
        raised: list[int] = []  # the removal is stamped by this kiosk's clock, corrected to the database's to
        # within half a round trip of its best reading (kiosk.persistence.db_clock); with no grace, the database's
        # clock may need that long to pass the stamp, which on a loaded machine has been more than 2 s
        assert _wait(lambda: bool(raised.extend(_evaluate(factory).raised) or raised)), _clocks(rt, factory)
        assert len(raised) == 1
        assert _evaluate(factory).raised == ()  # one episode, however often it is evaluated
        sims.cash.insert_stacker()
        assert _wait(lambda: _box(rt, factory) == "in")
        row = next(r for r in _fleet(factory) if r.kiosk_code == code)
        assert "cash box removed" not in row.reasons and "cash box was removed without a handover" in row.reasons
        assert _evaluate(factory).raised == ()
        [episode] = _box_alerts(factory, code)
        assert episode.sticky and episode.cleared_at is None  # staff clear it, the box coming back does not
        with unit_of_work(factory) as s:
            alerts.clear(s, episode.id, "staff:Wang", "box emptied by the cashier, counted")
        assert _evaluate(factory).raised == ()  # cleared while its removal stands: not raised again
        with unit_of_work(factory) as s:  # each box event recorded once, and the baseline moved past both
            kinds = list(s.scalars(select(DeviceEvent.kind).where(DeviceEvent.device == "cash")
                                   .order_by(DeviceEvent.id)))
            newest = s.scalar(select(CashEventRecord.counter).order_by(CashEventRecord.id.desc()).limit(1))
        assert kinds == ["stacker_removed", "stacker_replaced"]
        assert newest == sims.cash.counter
    finally:
        rt.stop()


def test_a_cash_box_removed_during_a_handover_raises_nothing(engine, factory, db_url, tmp_path):
    rt, sims = _running(engine, factory, db_url, tmp_path)
    code = rt.till.kiosk_code
    try:
        with unit_of_work(factory) as s:
            wang = staff.add_staff(s, name="Wang", role="staff", pin="135790", actor="test")
            staff.open_shift(s, rt.till, staff_id=wang.staff_id)
        sims.cash.remove_stacker()
        assert _wait(lambda: _box(rt, factory) == "removed")
        with unit_of_work(factory) as s:
            staff.close_shift(s, rt.till, staff_id=wang.staff_id, counted_cash_fen=0, language="en")
        sims.cash.insert_stacker()
        assert _wait(lambda: _box(rt, factory) == "in")
        assert _evaluate(factory).raised == () and _box_alerts(factory, code) == []
        row = next(r for r in _fleet(factory) if r.kiosk_code == code)
        assert not [r for r in row.reasons if "cash box" in r]
    finally:
        rt.stop()


def _fleet(factory) -> list[status.KioskStatus]:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as s:
        return status.fleet(s, CFG)
