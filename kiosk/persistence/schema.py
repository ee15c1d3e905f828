"""Schema management through Alembic only: upgrade, check, and a backup taken before upgrading.

Alembic is imported when it is needed: a start whose database is already at the newest migration (every start
but the first after an upgrade) sees that from the migration files' own `revision` lines and one query, without
importing Alembic (about a third of a second of the kiosk's start on a loaded 2-core box: docs/benchmarks-app.md)."""
from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from kiosk.errors import SchemaOutOfDate, StorageError
from kiosk.private_files import create_private_file, make_private_dir

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_REVISION = re.compile(r"""^revision\s*(?::\s*str\s*)?=\s*["']([^"']+)["']\s*$""", re.M)
_DOWN_REVISION = re.compile(r"""^down_revision\s*(?::[^=\n]*)?=\s*(?:None|["']([^"']+)["'])\s*$""", re.M)


def plain_head() -> str | None:
    """The newest migration, read from each file's own `revision = "..."` and `down_revision = "..."` lines without
    Alembic; None unless every file reads plainly and they form one chain (Alembic then decides)."""
    revisions: set[str] = set()
    downs: set[str] = set()
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        revision, down = _REVISION.findall(source), _DOWN_REVISION.findall(source)
        if len(revision) != 1 or len(down) != 1 or revision[0] in revisions:
            return None
        revisions.add(revision[0])
        if down[0]:
            downs.add(down[0])
    heads = revisions - downs
    if len(heads) != 1 or not downs <= revisions or len(downs) != len(revisions) - 1:
        return None
    return heads.pop()


def at_head_plainly(engine: Engine) -> bool:
    """True when the database's alembic_version row is `plain_head()`; False when unsure (Alembic then decides)."""
    head = plain_head()
    if head is None:
        return False
    try:
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except SQLAlchemyError:  # no table yet, a lock: the full path below says what it is
        return False
    return stored == [head]


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def head_revision(engine: Engine) -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head", *, audit_key: bytes | None = None) -> None:
    """`audit_key`: the estate's audit chain key; migration 0009 needs it to seal a database that holds rows."""
    from alembic import command

    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        if audit_key is not None:
            cfg.attributes["audit_key"] = audit_key
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

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
    if at_head_plainly(engine):
        return None
    if current_revision(engine) == head_revision(engine):
        return None
    copy = backup(engine, backup_dir) if current_revision(engine) is not None else None
    upgrade(engine, audit_key=audit_key)
    return copy
