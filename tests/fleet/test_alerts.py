"""Alert episodes and their delivery: silence raises one episode and a flapping kiosk stays one; evaluators racing
on one PostgreSQL raise each episode once; sticky alerts wait for staff and a note; a webhook that refuses and then
accepts gets every alert, signed, none lost."""
from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import func, select

from kiosk.cli.main import main
from kiosk.fleet import alerts, dbtime, heartbeat, notifier
from kiosk.persistence.db import make_engine, unit_of_work
from kiosk.persistence.models import AlertOutbox, AuditEntry, FleetAlert, Household, KioskHeartbeat
from kiosk.settings import FleetSettings
from tests.support.chain_key import bound_factory, write_secrets
from tests.support.demo_site import seeded_site

CFG = FleetSettings()


def _beat(code: str = "K01", **devices) -> heartbeat.Beat:
    return heartbeat.Beat(kiosk_code=code, version="0.1.0", host="lobby-1", uptime_s=5, state="in_service",
                          devices=devices or {"printer": {"state": "ok", "paper": "ok", "cover_open": False}})


def _write(factory, beat: heartbeat.Beat, age_s: int = 0) -> None:
    with unit_of_work(factory) as s:
        at = heartbeat.write(s, beat)
        if age_s:
            s.query(KioskHeartbeat).filter_by(kiosk_code=beat.kiosk_code).update(
                {"beat_at": at - timedelta(seconds=age_s)})


def _evaluate(factory, clear_after_s: float = alerts.CLEAR_AFTER_S) -> alerts.Changes:
    with unit_of_work(factory) as s:
        return alerts.evaluate(s, CFG, clear_after_s)


def _episodes(factory, kind: str | None = None) -> list[tuple[int, str, str, bool]]:
    with unit_of_work(factory) as s:
        query = select(FleetAlert).order_by(FleetAlert.id)
        if kind:
            query = query.where(FleetAlert.kind == kind)
        return [(a.id, a.kind, a.subject, a.cleared_at is None) for a in s.scalars(query)]


def _outbox(factory) -> list[tuple[int, str]]:
    with unit_of_work(factory) as s:
        return [(o.alert_id, o.event) for o in s.scalars(select(AlertOutbox).order_by(AlertOutbox.id))]


@pytest.fixture
def site(engine, factory, db_url, tmp_path):
    write_secrets(tmp_path / "data")  # the CLI below writes audit rows with the test's audit key
    return seeded_site(engine, factory, db_url, tmp_path / "data", households=4)


def test_silence_raises_one_episode_and_a_flapping_kiosk_stays_one_until_it_is_back_for_good(site, factory):
    _write(factory, _beat(), age_s=125)
    first = _evaluate(factory)
    assert len(first.raised) == 1 and _evaluate(factory) == alerts.Changes()  # still silent: no second raise
    for _ in range(3):  # back, silent, back, silent...: the same episode
        _write(factory, _beat())
        assert _evaluate(factory) == alerts.Changes()
        _write(factory, _beat(), age_s=125)
        assert _evaluate(factory) == alerts.Changes()
    _write(factory, _beat())
    assert _evaluate(factory).cleared == ()  # back, but not yet for CLEAR_AFTER_S
    assert _evaluate(factory, clear_after_s=0).cleared == first.raised
    assert _episodes(factory) == [(first.raised[0], "silent", "", False)]
    assert _outbox(factory) == [(first.raised[0], "raised"), (first.raised[0], "cleared")]
    _write(factory, _beat(), age_s=125)
    again = _evaluate(factory)  # a new silence after the episode ended: a new episode
    assert len(again.raised) == 1 and again.raised != first.raised


def test_paper_out_and_a_device_down_are_their_own_episodes_and_a_silent_kiosk_keeps_them(site, factory):
    _write(factory, _beat(printer={"state": "ok", "paper": "out"}, cash={"state": "down", "reason": "no reply"}))
    raised = _evaluate(factory).raised
    assert sorted((k, s) for _, k, s, _ in _episodes(factory)) == [("device_down", "cash"), ("paper_out", "printer")]
    _write(factory, _beat(printer={"state": "ok", "paper": "ok"}), age_s=200)  # silent: devices unknown
    _evaluate(factory, clear_after_s=0)
    assert sorted((k, open_) for _, k, _, open_ in _episodes(factory)) == [("device_down", True),
                                                                           ("paper_out", True), ("silent", True)]
    _write(factory, _beat(printer={"state": "ok", "paper": "ok"}))
    _evaluate(factory)
    assert len(_evaluate(factory, clear_after_s=0).cleared) == 3 and len(raised) == 2


def test_evaluators_racing_on_one_database_raise_each_episode_once(pg_url, tmp_path):
    engines = [make_engine(pg_url) for _ in range(4)]
    try:
        factories = [bound_factory(e) for e in engines]
        seeded_site(engines[0], factories[0], pg_url, tmp_path / "data", households=1)
        _write(factories[0], _beat(), age_s=300)
        gate = threading.Barrier(len(factories))
        results: list[alerts.Changes] = []

        def evaluator(f) -> None:  # type: ignore[no-untyped-def]
            gate.wait()
            results.append(_evaluate(f))
        threads = [threading.Thread(target=evaluator, args=(f,)) for f in factories]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(len(r.raised) for r in results) == [0, 0, 0, 1]
        assert len(_episodes(factories[0])) == 1 and len(_outbox(factories[0])) == 1
    finally:
        for e in engines:
            e.dispose()


def test_a_cash_box_removed_outside_a_handover_waits_for_staff_and_a_note(site, factory, db_url, capsys):
    s, *_ = site
    with unit_of_work(factory) as session:
        removed = (dbtime.now(session) - timedelta(minutes=11)).isoformat()
    _write(factory, _beat(cash={"state": "ok", "box_removed_at": removed}, printer={"state": "ok", "paper": "out"}))
    _evaluate(factory)
    (box, *_), = [e for e in _episodes(factory) if e[1] == "cash_box_removed"]
    (paper, *_), = [e for e in _episodes(factory) if e[1] == "paper_out"]
    cli = ["fleet", "alerts", "--data-dir", str(s.data_dir), "--db-url", db_url]
    assert main(cli + ["--clear", str(box)]) == 5
    assert "[E8204]" in capsys.readouterr().err
    assert main(cli + ["--clear", str(paper), "--note", "loaded paper"]) == 5
    assert "[E8203]" in capsys.readouterr().err
    assert main(cli + ["--clear", "999999", "--note", "x"]) == 5
    assert "[E8202]" in capsys.readouterr().err
    assert main(cli + ["--clear", str(box), "--note", "box taken to the office for counting", "--by", "王芳"]) == 0
    assert "cleared by 王芳" in capsys.readouterr().out
    assert main(cli + ["--clear", str(box), "--note", "again"]) == 5
    assert "[E8205]" in capsys.readouterr().err
    assert _evaluate(factory).raised == ()  # the removal is the same one: not raised again
    with unit_of_work(factory) as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "alert.cleared")) == 1
    assert main(cli + ["--open"]) == 0
    listed = capsys.readouterr().out
    assert "paper_out" in listed and "cash_box_removed" not in listed


def test_repeated_pin_lock_outs_and_a_flagged_card_are_sticky_alerts(site, factory):
    from kiosk.persistence.models import Card

    with unit_of_work(factory) as s:
        until = dbtime.now(s) + timedelta(minutes=15)
        for hh in s.scalars(select(Household).order_by(Household.id).limit(3)):
            hh.pin_locked_until = until
        card = s.scalars(select(Card).order_by(Card.id)).first()
        card.flagged_reason = "MAC mismatch"
        uid = card.uid_hex
    _evaluate(factory)
    assert sorted((k, sub) for _, k, sub, _ in _episodes(factory)) == [("card_tampered", uid), ("pin_lockouts", "")]
    with unit_of_work(factory) as s:
        for hh in s.scalars(select(Household)):
            hh.pin_locked_until = None
    _evaluate(factory, clear_after_s=0)
    assert all(open_ for *_, open_ in _episodes(factory)), "sticky: only staff clear them"


def test_an_unknown_kiosk_is_one_sticky_episode_however_often_it_beats(site, factory):
    alerts.flag_unknown_kiosk(factory, "K99")
    alerts.flag_unknown_kiosk(factory, "K99")
    assert [(k, open_) for _, k, _, open_ in _episodes(factory)] == [("unknown_kiosk", True)]
    assert len(_outbox(factory)) == 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_webhook_that_refuses_then_accepts_gets_every_alert_signed(site, factory):
    key = b"office-webhook-key"
    port = _free_port()
    _write(factory, _beat("K01", printer={"state": "ok", "paper": "out"}), age_s=0)
    _evaluate(factory)
    alerts.flag_unknown_kiosk(factory, "K99")
    send = notifier.webhook_send(f"http://127.0.0.1:{port}/alerts", key, timeout_s=2)
    assert notifier.deliver_due(factory, send, base_s=0.2) == (0, 1)  # nothing listens: refused
    with unit_of_work(factory) as s:
        rows = list(s.scalars(select(AlertOutbox).order_by(AlertOutbox.id)))
        assert [(r.attempts, r.delivered_at) for r in rows] == [(1, None), (0, None)]
        assert "refused" in rows[0].last_error.lower()
    got: list[tuple[str, str, bytes]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append((self.headers["X-Kiosk-Delivery"], self.headers["X-Kiosk-Signature"], body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
            pass

    server = HTTPServer(("127.0.0.1", port), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert notifier.deliver_due(factory, send, base_s=0.2) == (1, 0)  # only the unknown kiosk's was due
        time.sleep(0.3)  # the refused one's backoff
        assert notifier.deliver_due(factory, send, base_s=0.2) == (1, 0)
    finally:
        server.shutdown()
        server.server_close()
    kinds = sorted(json.loads(b)["kind"] for _, _, b in got)
    assert kinds == ["paper_out", "unknown_kiosk"]
    for delivery, sig, body in got:
        assert sig == "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        assert delivery.isdigit()
    with unit_of_work(factory) as s:
        assert all(r.delivered_at is not None for r in s.scalars(select(AlertOutbox)))
    assert notifier.deliver_due(factory, send) == (0, 0)


def test_fleet_watch_once_raises_and_delivers_to_the_log(site, factory, db_url, capsys, caplog):
    s, *_ = site
    _write(factory, _beat(), age_s=300)
    args = ["fleet", "watch", "--once", "--data-dir", str(s.data_dir), "--db-url", db_url]
    assert main(args) == 0
    assert capsys.readouterr().out.strip() == "raised 1, cleared 0, delivered 1, failed 0"
    assert any("ALERT raised" in r.getMessage() and "silent" in r.getMessage() for r in caplog.records)
    assert main(args) == 0
    assert capsys.readouterr().out.strip() == "raised 0, cleared 0, delivered 0, failed 0"
