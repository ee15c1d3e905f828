"""Schema management through Alembic only: upgrade, check, and a backup taken before upgrading."""
from __future__ import annotations

import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from kiosk.errors import SchemaOutOfDate, StorageError
from kiosk.private_files import create_private_file, make_private_dir

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def head_revision(engine: Engine) -> str:
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head", *, audit_key: bytes | None = None) -> None:
    """`audit_key`: the estate's audit chain key; migration 0009 needs it to seal a database that holds rows."""
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        if audit_key is not None:
            cfg.attributes["audit_key"] = audit_key
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str) -> None:
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def check(engine: Engine) -> None:
    """Raise SchemaOutOfDate unless the database is at the newest migration."""
    current, head = current_revision(engine), head_revision(engine)
    if current != head:
        raise SchemaOutOfDate(f"database at {current or 'empty'}, code expects {head}")


def backup(engine: Engine, backup_dir: Path) -> Path | None:
    """Copy the database into backup_dir; returns the file, or None for an empty SQLite file. The folder is 0700 and
    the copy 0600 (created empty first, then filled by SQLite's backup or pg_dump, which keep its mode)."""
    make_private_dir(backup_dir)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    if engine.dialect.name == "sqlite":
        source = Path(engine.url.database or "")
        if not source.exists() or source.stat().st_size == 0:
            return None
        from kiosk.persistence import backups  # SQLite's backup API, checked and checksummed

        return backups.take(source, backup_dir, tag="before-upgrade").path
    target = backup_dir / f"kiosk-{stamp}.sql"
    if shutil.which("pg_dump") is None:
        raise StorageError("pg_dump is not installed; cannot back up the PostgreSQL database")
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    create_private_file(target)
    result = subprocess.run(["pg_dump", "--no-owner", "-f", str(target), url], capture_output=True, text=True)
    if result.returncode != 0:
        raise StorageError(f"pg_dump failed: {result.stderr.strip()[:200]}")
    return target


def upgrade_with_backup(engine: Engine, backup_dir: Path, *, audit_key: bytes | None = None) -> Path | None:
    """What the kiosk does at start: back up, then upgrade, when the schema is behind."""
    if current_revision(engine) == head_revision(engine):
        return None
    copy = backup(engine, backup_dir) if current_revision(engine) is not None else None
    upgrade(engine, audit_key=audit_key)
    return copy
