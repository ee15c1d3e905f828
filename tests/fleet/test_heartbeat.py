"""Each kiosk's heartbeat and `kiosk fleet status`: a running kiosk on the simulators writes its row (database's
clock), the colour follows its devices and its silence, a heartbeat from a kiosk code the estate does not know is
refused, and a database that stops answering skips beats with one warning, not one per beat."""
from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timezone

import pytest
from sqlalchemy import text

from kiosk import bootstrap
from kiosk.app_runtime.demo import DemoSimulators
from kiosk.app_runtime.devices import AttachedDevices
from kiosk.app_runtime.runtime import KioskRuntime
from kiosk.app_runtime.wiring import build_runtime, start_runtime
from kiosk.cli.main import main
from kiosk.errors import UnknownKiosk
from kiosk.fleet import dbtime, heartbeat, status
from kiosk.fleet.agent import FleetAgent
from kiosk.persistence.db import make_engine, unit_of_work
from kiosk.persistence.models import KioskHeartbeat
from kiosk.settings import FleetSettings
from tests.support.chain_key import bound_factory
from tests.support.demo_site import seeded_site

CFG = FleetSettings()


def _status_of(factory, code: str) -> status.KioskStatus:
    with unit_of_work(factory) as s:
        return next(r for r in status.fleet(s, CFG) if r.kiosk_code == code)


def _wait(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_a_running_kiosk_beats_green_then_yellow_on_paper_near_end_then_red_on_paper_out(engine, factory, db_url,
                                                                                         tmp_path):
    s, db, till, _ = seeded_site(engine, factory, db_url, tmp_path / "data", households=2)
    sims = DemoSimulators(s.data_dir, s.secrets.gateway_secret).start()
    rt = build_runtime(sims.settings_for(s), db)
    rt.on_stop(sims.stop)
    start_runtime(rt)
    try:
        for name in ("printer", "reader", "cash"):
            assert rt.supervisors[name].wait_available(10)
        rt.spooler.gate(timeout=5)  # the printer's status read once
        with unit_of_work(factory) as session:
            before = dbtime.now(session)
        assert rt.fleet.beat()
        row = _status_of(factory, till.kiosk_code)
        assert row.colour is status.Colour.GREEN and row.reason == "all well", row.reasons
        assert row.last_heard is not None and before <= row.last_heard and row.silent_s is not None
        assert row.devices["printer"]["paper"] == "ok" and row.devices["cash"]["box_capacity"] == 600
        assert row.queues == {"invoice_requests": 0, "offline_cash_notes": 0, "print_jobs": 0}
        assert row.version and row.state == "in_service"
        assert row.clock_sync == rt.clock_sync()  # issue 19's check, as the kiosk gives it ("unknown" here)

        sims.printer.set_state("near_end")
        assert _wait(lambda: rt.spooler.gate(timeout=2) is not None and rt.spooler.last_status.paper.value ==
                     "near_end")
        assert rt.fleet.beat()
        row = _status_of(factory, till.kiosk_code)
        assert (row.colour, row.reasons) == (status.Colour.YELLOW, ("printer paper near end",))

        sims.printer.set_state("out")
        assert _wait(lambda: rt.spooler.gate(timeout=2) is not None and rt.spooler.last_status.paper.value == "out")
        rt.staff_seen()  # staff came to load paper: maintenance, and still red
        assert rt.fleet.beat()
        row = _status_of(factory, till.kiosk_code)
        assert row.colour is status.Colour.RED and row.reasons == ("printer out of paper", "maintenance")
    finally:
        rt.stop()


def _beat(code: str, **changes) -> heartbeat.Beat:
    fields = dict(kiosk_code=code, version="0.1.0", host="lobby-1", uptime_s=5, state="in_service",
                  devices={"printer": {"state": "ok", "paper": "ok", "online": True, "cover_open": False},
                           "cash": {"state": "ok", "box_notes": 100, "box_capacity": 600, "box_removed_at": None}},
                  queues={"print_jobs": 0})
    fields.update(changes)
    return heartbeat.Beat(**fields)  # type: ignore[arg-type]


def _aged(factory, code: str, seconds: int) -> None:
    """The kiosk's last beat `seconds` ago on the database's clock."""
    with unit_of_work(factory) as s:
        at = dbtime.now(s)
        from datetime import timedelta

        s.query(KioskHeartbeat).filter_by(kiosk_code=code).update({"beat_at": at - timedelta(seconds=seconds)})


def test_a_kiosk_silent_for_more_than_two_minutes_is_red_with_how_long(engine, factory, db_url, tmp_path):
    seeded_site(engine, factory, db_url, tmp_path / "data", households=1)
    with unit_of_work(factory) as s:
        heartbeat.write(s, _beat("K01"))
    _aged(factory, "K01", 110)
    assert _status_of(factory, "K01").colour is status.Colour.GREEN
    _aged(factory, "K01", 125)
    row = _status_of(factory, "K01")
    assert (row.colour, row.reasons) == (status.Colour.RED, ("silent for 2 min",))
    assert row.reason_in("zh_Hans") == "已 2 分钟 没有心跳" and row.reason_in("zh_Hant") == "已 2 分鐘 沒有心跳"


def test_the_reasons_read_in_each_language_with_the_devices_named_as_the_kiosk_names_them():
    """The office console shows the reasons in the signed-in person's language; the CLI and JSON keep English."""
    now = datetime(2026, 12, 6, 8, 0, tzinfo=timezone.utc)
    row = KioskHeartbeat(kiosk_code="K03", beat_at=now, state="out_of_service", state_reason="电梯检修", version="1",
                         devices=json.dumps({"reader": {"state": "down", "reason": "no reply"},
                                             "printer": {"state": "ok", "paper": "near_end"}}),
                         queues=json.dumps({"offline_cash_notes": 2}), last_error="", clock_sync="",
                         clock_offset_ms=None)
    judged = status.judge(row, "K03", now, FleetSettings())
    assert judged.reason == ("Card reader down (no reply); printer paper near end; out of service: 电梯检修; "
                             "2 banknote(s) waiting to be credited")
    assert judged.reason_in("zh_Hans") == "读卡器故障（no reply）; 打印纸将尽; 暂停服务：电梯检修; 2 张纸币待入账"
    assert json.loads(json.dumps(judged.to_json()))["reasons"][0] == "Card reader down (no reply)"


def test_the_cash_box_warns_at_eighty_percent_and_a_removed_box_is_red(engine, factory, db_url, tmp_path):
    seeded_site(engine, factory, db_url, tmp_path / "data", households=1)
    devices = {"cash": {"state": "ok", "box_notes": 480, "box_capacity": 600, "box_removed_at": None}}
    with unit_of_work(factory) as s:
        heartbeat.write(s, _beat("K01", devices=devices))
    row = _status_of(factory, "K01")
    assert (row.colour, row.reasons) == (status.Colour.YELLOW, ("cash box 480/600 notes (80%)",))
    devices["cash"].update(box_notes=479, box_removed_at="2026-12-06T10:00:00+00:00")
    with unit_of_work(factory) as s:
        heartbeat.write(s, _beat("K01", devices=devices))
    row = _status_of(factory, "K01")
    assert (row.colour, row.reasons) == (status.Colour.RED, ("cash box removed",))


def test_a_heartbeat_from_an_unknown_kiosk_code_is_refused_naming_the_known_ones(engine, factory, db_url, tmp_path):
    seeded_site(engine, factory, db_url, tmp_path / "data", households=1)
    with pytest.raises(UnknownKiosk) as caught:
        with unit_of_work(factory) as s:
            heartbeat.write(s, _beat("K99"))
    assert caught.value.code == "E8201"
    line = caught.value.user_message("en")
    assert "K99" in line and "K01" in line and "\n" not in line
    assert caught.value.user_message("zh_Hans") != line
    with unit_of_work(factory) as s:
        assert s.get(KioskHeartbeat, "K99") is None


def test_fleet_status_prints_a_row_per_kiosk_and_json(engine, factory, db_url, tmp_path, capsys):
    s, _db, _till, _ = seeded_site(engine, factory, db_url, tmp_path / "data", households=1)
    with unit_of_work(factory) as session:
        heartbeat.write(session, _beat("K01"))
    args = ["fleet", "status", "--data-dir", str(s.data_dir), "--db-url", db_url]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("K01") and " green " in out and "all well" in out
    assert main(args + ["--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["kiosk"], r["colour"]) for r in rows] == [("K01", "green")]
    assert rows[0]["devices"]["cash"]["box_notes"] == 100


def test_a_database_that_stops_answering_skips_beats_with_one_warning(cut, pg_url, tmp_path, caplog):
    url = cut.url_for(pg_url)
    engine = make_engine(url)
    factory = bound_factory(engine)
    try:
        s, db, till, _ = seeded_site(engine, factory, url, tmp_path / "data", households=1)
        rt = KioskRuntime(s, db, till, AttachedDevices(None, None, None, None))
        agent = FleetAgent(rt)
        assert agent.beat()
        cut.refuse()
        engine.dispose()
        with caplog.at_level(logging.INFO, logger="kiosk.fleet.agent"):
            for _ in range(4):
                assert not agent.beat()
            assert agent.skipped == 4
            cut.listen()
            assert agent.beat()
        lines = [r.getMessage() for r in caplog.records if r.name == "kiosk.fleet.agent"]
        assert len([line for line in lines if "not written" in line]) == 1, lines
        assert lines[-1] == "heartbeat written again after 4 skipped"
    finally:
        engine.dispose()


def test_a_kiosk_whose_code_the_estate_does_not_know_logs_once_and_is_flagged(engine, factory, db_url, tmp_path,
                                                                             caplog):
    from dataclasses import replace

    from sqlalchemy import select

    from kiosk.persistence.models import FleetAlert

    s, db, till, _ = seeded_site(engine, factory, db_url, tmp_path / "data", households=1)
    rt = KioskRuntime(s, db, replace(till, kiosk_code="K77"), AttachedDevices(None, None, None, None))
    agent = FleetAgent(rt)
    with caplog.at_level(logging.ERROR, logger="kiosk.fleet.agent"):
        assert not agent.beat() and not agent.beat()
    assert [r.getMessage() for r in caplog.records if r.name == "kiosk.fleet.agent"] == [
        "[E8201] There is no kiosk K77 at this estate (known: K01). Check the code with 'kiosk fleet status'. "
        "(heartbeat from K77)"]
    with unit_of_work(factory) as session:
        assert [(a.kiosk_code, a.kind, a.cleared_at) for a in session.scalars(select(FleetAlert))] == [
            ("K77", "unknown_kiosk", None)]
        assert session.get(KioskHeartbeat, "K77") is None


def test_a_kiosk_whose_clock_is_not_synchronised_is_yellow(engine, factory, db_url, tmp_path, capsys):
    s, *_ = seeded_site(engine, factory, db_url, tmp_path / "data", households=1)
    with unit_of_work(factory) as session:
        heartbeat.write(session, _beat("K01", clock_sync="not synchronised (timedatectl)"))
    row = _status_of(factory, "K01")
    assert (row.colour, row.reasons) == (status.Colour.YELLOW, ("clock not synchronised (NTP)",))
    assert main(["fleet", "status", "--json", "--data-dir", str(s.data_dir), "--db-url", db_url]) == 0
    assert json.loads(capsys.readouterr().out)[0]["clock_sync"] == "not synchronised (timedatectl)"
