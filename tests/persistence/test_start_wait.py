"""A start that meets a busy database or a server that refuses waits a bounded time and says so in one line."""
from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk import bootstrap, settings
from kiosk.errors import DatabaseBusy, DatabaseUnreachable
from kiosk.persistence import schema
from kiosk.persistence.db import make_engine, make_session_factory, sqlite_url, unit_of_work
from kiosk.persistence.models import DeviceEvent

# Another program holding SQLite's write lock: a real process with its own connection, as `kiosk import` is.
HOLDER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
db.execute("INSERT INTO device_events (device, kind, detail, at) VALUES ('holder', 'lock', '', '2026-01-01')")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("COMMIT")
"""


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)  # private, as the kiosk keeps it: no start-up warning about its mode
    engine = make_engine(sqlite_url(data))
    schema.upgrade(engine)
    engine.dispose()
    return data


def _hold_lock(data: Path, seconds: float) -> subprocess.Popen[str]:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(data / "kiosk.sqlite3"), str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def _settings(data: Path, wait_s: int, db_url: str | None = None) -> settings.Settings:
    site = data / "site.toml"
    site.write_text(f"[database]\nstart_wait_s = {wait_s}\n", encoding="utf-8")
    return settings.load(data, str(site), db_url=db_url)


def test_a_start_on_a_database_locked_longer_than_the_wait_stops_with_one_clear_error(data_dir, caplog):
    holder = _hold_lock(data_dir, 30)
    try:
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="kiosk.bootstrap"):
            with pytest.raises(DatabaseBusy) as err:
                bootstrap.open_database(_settings(data_dir, 2))
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert 2.0 <= waited < 5.0
    assert err.value.code == "E2010" and err.value.params["seconds"] == 2
    assert "已等待 2 秒" in err.value.user_message("zh_Hans")
    assert [r.getMessage() for r in caplog.records if "busy" in r.getMessage()] == [
        f"the database {data_dir / 'kiosk.sqlite3'} is busy with another program; waiting up to 2 s"]


def test_a_start_during_a_short_lock_waits_and_opens(data_dir):
    holder = _hold_lock(data_dir, 1.5)
    try:
        started = time.monotonic()
        db = bootstrap.open_database(_settings(data_dir, 10))
        waited = time.monotonic() - started
    finally:
        holder.wait(10)
    assert waited < 5.0
    with unit_of_work(db.factory) as s:
        s.add(DeviceEvent(device="test", kind="opened"))
    db.engine.dispose()


def test_a_unit_of_work_that_outwaits_the_busy_timeout_says_the_database_is_busy(data_dir):
    holder = _hold_lock(data_dir, 30)
    engine = make_engine(sqlite_url(data_dir), busy_timeout_s=0.5)
    try:
        with pytest.raises(DatabaseBusy) as err:
            with unit_of_work(make_session_factory(engine)) as s:
                s.add(DeviceEvent(device="test", kind="blocked"))
    finally:
        holder.kill()
        holder.wait()
        engine.dispose()
    assert err.value.code == "E2010" and err.value.params["seconds"] == 1 and "locked" in err.value.detail


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_postgresql_server_that_refuses_connections_is_waited_for_then_named(tmp_path):
    url = f"postgresql+psycopg://kiosk@127.0.0.1:{_closed_port()}/kiosk"
    started = time.monotonic()
    with pytest.raises(DatabaseUnreachable) as err:
        bootstrap.open_database(_settings(tmp_path, 1, db_url=url))
    assert 1.0 <= time.monotonic() - started < 4.0
    assert err.value.code == "E2011" and err.value.params["server"].startswith("127.0.0.1:")
    assert "refused" in err.value.detail.lower()


def test_the_command_line_prints_one_line_for_a_locked_database(data_dir):
    holder = _hold_lock(data_dir, 30)
    try:
        site = data_dir / "site.toml"
        site.write_text("[database]\nstart_wait_s = 1\n", encoding="utf-8")
        out = subprocess.run([sys.executable, "-m", "kiosk", "db", "check", "--data-dir", str(data_dir),
                              "--config", str(site)], capture_output=True, text=True, timeout=60)
    finally:
        holder.kill()
        holder.wait()
    assert out.returncode == 3 and "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert lines[-1].startswith("kiosk: [E2010] The database is busy with another program; waited 1 s.")
    assert len(lines) == 2 and "waiting up to 1 s" in lines[0]  # the warning while it waited, then the one error
