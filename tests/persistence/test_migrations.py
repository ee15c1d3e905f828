"""The schema comes from Alembic migrations only, and they match the models both ways."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from kiosk.persistence import schema
from kiosk.persistence.db import make_engine
from kiosk.persistence.models import Base
from tests.support.databases import database


def _diff(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, Base.metadata)


def test_upgrade_head_on_empty_database_matches_the_models(backend, tmp_path):
    with database(backend, tmp_path, migrated=False) as url:
        engine = make_engine(url)
        schema.upgrade(engine)
        assert _diff(engine) == []
        schema.check(engine)
        engine.dispose()


def test_downgrade_to_base_and_upgrade_again_round_trips(backend, tmp_path):
    with database(backend, tmp_path, migrated=False) as url:
        engine = make_engine(url)
        schema.upgrade(engine)
        schema.downgrade(engine, "base")
        assert schema.current_revision(engine) is None
        schema.upgrade(engine)
        assert _diff(engine) == [] and schema.current_revision(engine) == schema.head_revision(engine)
        engine.dispose()


def test_start_up_upgrade_takes_a_backup_first(tmp_path):
    url = f"sqlite:///{tmp_path / 'kiosk.sqlite3'}"
    engine = make_engine(url)
    schema.upgrade(engine, "0001")
    copy = schema.upgrade_with_backup(engine, tmp_path / "backups")
    assert copy is not None and copy.exists() and copy.stat().st_size > 0
    assert schema.current_revision(engine) == schema.head_revision(engine)
    assert schema.upgrade_with_backup(engine, tmp_path / "backups") is None  # already current: no copy
    engine.dispose()


def test_sqlite_runs_in_wal_with_full_sync_and_foreign_keys(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'k.sqlite3'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_the_start_reads_the_newest_migration_from_the_files_as_alembic_does(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'kiosk.sqlite3'}")
    assert schema.plain_head() == schema.head_revision(engine)
    assert not schema.at_head_plainly(engine)  # no alembic_version table yet: Alembic decides
    schema.upgrade(engine, "0001")
    assert not schema.at_head_plainly(engine)  # behind: upgraded, never taken for current
    schema.upgrade(engine)
    assert schema.at_head_plainly(engine)
    engine.dispose()


def test_a_start_without_a_database_change_does_not_import_alembic(tmp_path):
    """The start's schema step on a current database: no Alembic import (a third of a second of the start)."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'kiosk.sqlite3'}"
    engine = make_engine(url)
    schema.upgrade(engine)
    engine.dispose()
    probe = ("import sys; from kiosk.persistence import schema; from kiosk.persistence.db import make_engine; "
             f"e = make_engine({url!r}); assert schema.upgrade_with_backup(e, __import__('pathlib').Path({str(tmp_path)!r})) is None; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
