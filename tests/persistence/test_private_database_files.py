"""The real database files are private: a fresh SQLite file and the -wal/-shm SQLite makes beside it are 0600 in a
0700 data dir under an open umask; an older install's readable files are set private at start with a warning;
backups are 0600 on both databases (SQLite's backup API, pg_dump)."""
from __future__ import annotations

import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from kiosk import bootstrap, settings as settings_mod
from kiosk.persistence import schema

pytestmark = pytest.mark.timeout(120)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def open_umask() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def _write_something(db: bootstrap.Database) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS probe (n INTEGER)"))
        conn.execute(text("INSERT INTO probe VALUES (1)"))


def test_a_new_sqlite_database_and_its_wal_and_shm_are_private(tmp_path):
    data = tmp_path / "data"
    settings = settings_mod.load_for(str(data), None)
    db = bootstrap.open_database(settings)
    try:
        _write_something(db)
        files = [data / "kiosk.sqlite3", data / "kiosk.sqlite3-wal", data / "kiosk.sqlite3-shm"]
        assert all(p.exists() for p in files)
        assert mode(data) == 0o700 and [mode(p) for p in files] == [0o600, 0o600, 0o600]
        assert mode(data / "secrets.toml") == 0o600
    finally:
        db.engine.dispose()


def test_an_older_installs_readable_database_is_set_private_at_start_with_a_warning(tmp_path, caplog):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)
    with sqlite3.connect(data / "kiosk.sqlite3") as old:  # as an earlier version left it: 0644, with its WAL
        old.execute("PRAGMA journal_mode=WAL")
        old.execute("CREATE TABLE t (n INTEGER)")
        held = sqlite3.connect(data / "kiosk.sqlite3")  # keeps -wal and -shm in place
        held.execute("SELECT * FROM t").fetchall()
    try:
        assert mode(data / "kiosk.sqlite3-wal") == 0o644
        settings = settings_mod.load_for(str(data), None)
        with caplog.at_level(logging.WARNING, logger="kiosk.private_files"):
            url = bootstrap.database_url(settings)
        assert url.endswith("kiosk.sqlite3")
        assert mode(data) == 0o700
        assert [mode(data / f"kiosk.sqlite3{s}") for s in ("", "-wal", "-shm")] == [0o600, 0o600, 0o600]
        logged = "\n".join(caplog.messages)
        assert f"[E2301] {data / 'kiosk.sqlite3'} " in logged and f"[E2301] {data} " in logged
        assert "0644" in logged and "0600" in logged
    finally:
        held.close()


def test_a_backup_is_private_on_both_databases(engine, tmp_path):
    backups = tmp_path / "data" / "backups"
    copy = schema.backup(engine, backups)
    assert copy is not None and copy.stat().st_size > 0
    assert mode(backups) == 0o700 and mode(copy) == 0o600
