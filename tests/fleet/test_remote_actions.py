"""Remote actions: rows the kiosk applies once, in order, audited with who sent them; a pause puts the kiosk's own
out-of-service flag up with the office's message; an action for a kiosk that does not exist is refused; a real
kiosk process picks up a pause sent while it was down, ends itself on a restart and applies nothing twice."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from kiosk import bootstrap, settings as settings_mod
from kiosk.app_runtime.devices import AttachedDevices
from kiosk.app_runtime.runtime import KioskRuntime
from kiosk.cli.main import main
from kiosk.fleet import actions
from kiosk.fleet.actions import Action, ServiceStateChanged
from kiosk.persistence import schema
from kiosk.persistence.db import make_engine, unit_of_work
from kiosk.persistence.models import AuditEntry, FleetAction, Kiosk
from tests.support.chain_key import bound_factory, write_secrets
from tests.support.demo_site import seeded_site

ROOT = Path(__file__).resolve().parents[2]


def _send(factory, action: Action, message: str = "", code: str = "K01") -> int:
    with unit_of_work(factory) as s:
        return actions.send(s, code, action, message, "office:李主任").id


def _kiosk_row(factory) -> tuple[bool, str]:
    with unit_of_work(factory) as s:
        k = s.scalars(select(Kiosk).where(Kiosk.code == "K01")).one()
        return k.out_of_service, k.out_of_service_reason


def test_pause_resume_and_reload_are_applied_once_in_order_and_audited(engine, factory, db_url, tmp_path):
    s, db, till, _ = seeded_site(engine, factory, db_url, tmp_path / "data", households=1)
    rt = KioskRuntime(s, db, till, AttachedDevices(None, None, None, None))
    events: list[object] = []
    rt.bus.subscribe(ServiceStateChanged, events.append)
    restarts: list[str] = []
    rt.on_restart = restarts.append  # the window's seam: it restarts once nobody uses the kiosk
    pause = _send(factory, Action.PAUSE, "电梯检修，暂停服务至 15:00")
    assert [(i, a) for i, a, _ in actions.apply_pending(rt)] == [(pause, "pause")]
    assert _kiosk_row(factory) == (True, "电梯检修，暂停服务至 15:00")
    assert rt.services.service_status().reason == "电梯检修，暂停服务至 15:00"  # what the out-of-service page says
    assert actions.apply_pending(rt) == [] and events == [ServiceStateChanged("pause")]
    resume, notices = _send(factory, Action.RESUME), _send(factory, Action.RELOAD_NOTICES)
    restart, after = _send(factory, Action.RESTART), _send(factory, Action.PAUSE, "later")
    assert [i for i, _, _ in actions.apply_pending(rt)] == [resume, notices, restart]
    assert _kiosk_row(factory) == (False, "") and len(restarts) == 1 and "from office:李主任" in restarts[0]
    assert [i for i, _, _ in actions.apply_pending(rt)] == [after]  # after the restart: the next start's poll
    with unit_of_work(factory) as session:
        rows = {r.id: r for r in session.scalars(select(FleetAction))}
        assert all(r.applied_at is not None and r.sent_by == "office:李主任" for r in rows.values())
        assert rows[pause].outcome.startswith("paused")
        audit = [(a.actor, a.action) for a in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
                 if a.action.startswith(("fleet.", "kiosk."))]
    assert audit[:2] == [("office:李主任", "fleet.action.sent"), ("office:李主任", "kiosk.out_of_service")]


def test_reload_config_with_a_broken_site_file_is_refused_and_the_kiosk_keeps_running(engine, factory, db_url,
                                                                                       tmp_path):
    site_file = tmp_path / "site.toml"
    site_file.write_text("[fleet]\naction_poll_s = 2\n", encoding="utf-8")
    s, db, till, _ = seeded_site(engine, factory, db_url, tmp_path / "data", households=1)
    s = settings_mod.load(tmp_path / "data", str(site_file), db_url=db_url)
    rt = KioskRuntime(s, db, till, AttachedDevices(None, None, None, None))
    restarts: list[str] = []
    rt.on_restart = restarts.append
    site_file.write_text("[fleet]\naction_poll_s = 0\n", encoding="utf-8")  # out of its range
    _send(factory, Action.RELOAD_CONFIG)
    [(_, _, outcome)] = actions.apply_pending(rt)
    assert outcome.startswith("refused: [E1010]") and "action_poll_s" in outcome and restarts == []
    site_file.write_text("[fleet]\naction_poll_s = 3\n", encoding="utf-8")
    _send(factory, Action.RELOAD_CONFIG)
    [(_, _, outcome)] = actions.apply_pending(rt)
    assert outcome == "settings load; restarting" and len(restarts) == 1


def test_an_action_for_a_kiosk_that_does_not_exist_or_a_pause_without_message_is_refused(engine, factory, db_url,
                                                                                          tmp_path, capsys):
    write_secrets(tmp_path / "data")
    s, *_ = seeded_site(engine, factory, db_url, tmp_path / "data", households=1)
    common = ["--data-dir", str(s.data_dir), "--db-url", db_url]
    assert main(["fleet", "action", "K99", "pause", "--message", "x", *common]) == 5
    err = capsys.readouterr().err
    assert "[E8201]" in err and "K99" in err and "K01" in err and len(err.strip().splitlines()) == 1
    assert main(["fleet", "action", "K01", "pause", *common]) == 5
    assert "[E8206]" in capsys.readouterr().err
    assert main(["fleet", "action", "K01", "pause", "--message", "暂停服务", "--by", "李主任", *common]) == 0
    assert "sent by 李主任" in capsys.readouterr().out
    assert main(["fleet", "actions", *common]) == 0
    out = capsys.readouterr().out
    assert "pending" in out and "暂停服务" in out
    with unit_of_work(factory) as session:
        assert session.scalar(select(FleetAction.kiosk_code)) == "K01"


# --- a real kiosk process on PostgreSQL ------------------------------------------------------------------------------
def _start(data_dir: Path, site: Path, url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "KIVY_NO_ARGS": "1", "KIVY_NO_CONSOLELOG": "1"}
    return subprocess.Popen([sys.executable, "-m", "kiosk", "demo", "--no-window", "--data-dir", str(data_dir),
                             "--config", str(site), "--db-url", url], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def _running(proc: subprocess.Popen[str], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    assert proc.stdout is not None
    seen: list[str] = []
    for line in proc.stdout:
        if "running without a window" in line:
            return
        seen.append(line)
        assert time.monotonic() < deadline, "the kiosk did not start in time:\n" + "".join(seen[-30:])
    raise AssertionError(f"the kiosk ended with {proc.wait()} before it ran:\n" + "".join(seen[-30:]))


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


def _until(predicate, timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def test_a_kiosk_process_applies_a_pause_sent_while_it_was_down_and_restarts_once(pg_url, tmp_path):
    site = tmp_path / "site.toml"
    site.write_text("[fleet]\naction_poll_s = 1\n", encoding="utf-8")
    data = tmp_path / "data"
    write_secrets(data)
    engine = make_engine(pg_url)
    factory = bound_factory(engine)
    schema.upgrade(engine)
    settings = settings_mod.load(data, str(site), db_url=pg_url)
    bootstrap.ensure_till(bootstrap.Database(engine, factory, pg_url), settings)  # the estate knows K01
    try:
        pause = _send(factory, Action.PAUSE, "系统升级，暂停服务")  # sent while the kiosk is off
        second = _start(data, site, pg_url)
        try:
            _running(second)
            assert _until(lambda: _kiosk_row(factory) == (True, "系统升级，暂停服务"))
            restart = _send(factory, Action.RESTART)
            second.wait(30)  # it ends by itself; the service manager (Restart=always) would start it again
            assert second.returncode == 0
        finally:
            _stop(second)
        third = _start(data, site, pg_url)
        try:
            _running(third)
            resume = _send(factory, Action.RESUME)
            assert _until(lambda: _kiosk_row(factory) == (False, ""))
            assert third.poll() is None, "the restart was applied once, not again at the next start"
        finally:
            _stop(third)
        with unit_of_work(factory) as s:
            applied = {r.id: r.applied_at for r in s.scalars(select(FleetAction))}
        assert set(applied) == {pause, restart, resume} and all(applied.values())
    finally:
        engine.dispose()
