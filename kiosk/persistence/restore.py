"""`kiosk db restore FILE`: a backup is checked whole before anything live is touched, then swapped in by one
rename; the database it replaces is kept aside (a hard link made before the rename).

Checks, in order, on a staged copy in the data directory (the copy checked is the file installed; the original
backup is never opened for writing): the checksum beside the backup (.sha256), SQLite's `PRAGMA integrity_check`,
the schema version (a revision this code's migrations know; an older one is upgraded on the staged copy, as the
kiosk would at its start), then the ledger invariants and the audit
chain (kiosk.services.integrity.verify, what `kiosk audit verify` runs). Any failure: one error (E8141-E8145),
the staged copy deleted, the live database untouched.

The kiosk app holds the database when its kiosk lease (kiosk.persistence.kiosk_lease) names a process of this
machine and boot that still runs, or a holder elsewhere heard of within the lease's stale time: the app takes
that row at start, beats it every 10 s and deletes it at a clean stop. A restore then refuses (E8146).
"""
from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy.exc import SQLAlchemyError

from kiosk.errors import (BackupChecksumBad, BackupDamaged, BackupFailsVerify, BackupSchemaUnknown, BackupUnreadable,
                          DatabaseInUse)
from kiosk.persistence import backups, kiosk_lease
from kiosk.private_files import create_private_file


@dataclass(frozen=True)
class Restored:
    revision: str
    aside: Path | None  # the replaced database, kept
    summary: str  # the integrity report's summary of the restored database


def holder(db_path: Path) -> tuple[int, str] | None:
    """(pid, host) of a kiosk app holding the database at `db_path`, or None (see the module's doc)."""
    if not db_path.exists():
        return None
    try:
        conn = sqlite3.connect(db_path, timeout=30)  # not mode=ro: closing it removes the -wal and -shm it opened
        try:
            conn.execute("PRAGMA query_only=1")
            rows = conn.execute("SELECT host, boot_id, pid, last_seen FROM kiosk_leases").fetchall()
        finally:
            conn.close()
    except sqlite3.Error:  # no lease table (an old schema) or no database: no kiosk of this version holds it
        return None
    me = kiosk_lease.this_process()
    for host, boot, pid, last_seen in rows:
        if host == me.host and boot == me.boot_id:
            if kiosk_lease._alive(int(pid)):
                return int(pid), host
        elif _fresh(last_seen):
            return int(pid), host
    return None


def _fresh(last_seen: object) -> bool:
    try:
        seen = datetime.fromisoformat(str(last_seen)).replace(tzinfo=timezone.utc)
    except ValueError:
        return True
    return datetime.now(timezone.utc) - seen < timedelta(seconds=kiosk_lease.STALE_AFTER_S)


def known_revisions() -> set[str]:
    from alembic.config import Config

    from kiosk.persistence.schema import MIGRATIONS_DIR

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return {rev.revision for rev in ScriptDirectory.from_config(cfg).walk_revisions()}


def restore(backup: Path, live: Path, audit_key: bytes) -> Restored:
    """Check `backup` and make it the database at `live`; raises one of E8141-E8146 with nothing changed."""
    name = str(backup)
    if not backup.is_file():
        raise BackupUnreadable(name, file=name)
    in_use = holder(live)
    if in_use is not None:
        raise DatabaseInUse(f"lease held by pid {in_use[0]} on {in_use[1]}", pid=in_use[0], host=in_use[1])
    staged = live.with_name(f".{live.name}.restore-{os.getpid()}")
    _remove(staged)
    try:
        create_private_file(staged)
        try:
            shutil.copyfile(backup, staged)
        except OSError as exc:
            raise BackupUnreadable(str(exc), file=name) from None
        if not _checksum_of_staged_matches(backup, staged):
            raise BackupChecksumBad(name, file=name)
        revision = _sound_revision(staged, name)
        summary = _upgrade_and_verify(staged, revision, name, audit_key)
        in_use = holder(live)  # once more, just before the swap
        if in_use is not None:
            raise DatabaseInUse(f"lease held by pid {in_use[0]} on {in_use[1]}", pid=in_use[0], host=in_use[1])
        aside = _swap(staged, live)
        return Restored(revision, aside, summary)
    finally:
        _remove(staged)


def _checksum_of_staged_matches(backup: Path, staged: Path) -> bool:
    try:
        recorded = backups.checksum_file(backup).read_text(encoding="ascii").split()[0].lower()
    except (OSError, IndexError, UnicodeDecodeError):
        return False
    return recorded == backups.sha256_of(staged)


def _sound_revision(staged: Path, name: str) -> str:
    try:
        conn = sqlite3.connect(staged)
        try:
            result = conn.execute("PRAGMA integrity_check").fetchall()
            if result != [("ok",)]:
                raise BackupDamaged(f"integrity_check: {result[:3]}", file=name)
            try:
                row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            except sqlite3.OperationalError:
                row = None
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:  # "file is not a database", "database disk image is malformed"
        raise BackupDamaged(str(exc), file=name) from None
    revision = row[0] if row else "none"
    if revision not in known_revisions():
        raise BackupSchemaUnknown(f"revision {revision}", file=name, revision=revision)
    return revision


def _upgrade_and_verify(staged: Path, revision: str, name: str, audit_key: bytes) -> str:
    from kiosk.persistence import schema
    from kiosk.persistence.db import make_engine, make_session_factory, unit_of_work
    from kiosk.services import integrity

    engine = make_engine(f"sqlite:///{staged}")
    try:
        if revision != schema.head_revision(engine):
            try:
                schema.upgrade(engine, audit_key=audit_key)
            except SQLAlchemyError as exc:
                raise BackupDamaged(f"upgrade from {revision}: {exc}", file=name) from None
        try:
            with unit_of_work(make_session_factory(engine)) as session:
                report = integrity.verify(session, audit_key)
        except SQLAlchemyError as exc:
            raise BackupDamaged(f"verify: {exc}", file=name) from None
        if not report.ok:
            first = report.problems[0]
            raise BackupFailsVerify(str(first), file=name, problem=f"{first.error.code}: {first}")
        return report.summary()
    finally:
        engine.dispose()
        _fold_wal(staged)


def _fold_wal(path: Path) -> None:
    """Fold the WAL into the file and leave rollback-journal mode: the swap moves one self-contained file."""
    if path.exists() and path.stat().st_size:
        conn = sqlite3.connect(path, timeout=30)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("PRAGMA journal_mode=DELETE")
        finally:
            conn.close()


def _swap(staged: Path, live: Path) -> Path | None:
    """Keep the live database aside (a hard link to it, after its WAL is folded in), then rename the staged copy
    over it: at every moment `live` is either the old database or the new one."""
    aside = None
    if live.exists():
        conn = sqlite3.connect(live, timeout=30)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()  # the last connection: SQLite removes -wal and -shm
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        aside = live.with_name(f"{live.name}.before-restore-{stamp}")
        os.link(live, aside)
    for suffix in ("-wal", "-shm"):
        Path(f"{live}{suffix}").unlink(missing_ok=True)
    os.replace(staged, live)
    fd = os.open(live.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return aside


def _remove(staged: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{staged}{suffix}").unlink(missing_ok=True)


def put_back(backup: Path, live: Path) -> Path | None:
    """A rollback's restore of the backup `kiosk upgrade` took a moment ago, as it is: its checksum and SQLite's
    integrity check, no schema upgrade (it is the previous version's schema, which the code that runs now may not
    know how to verify). Returns where the database it replaced is kept."""
    name = str(backup)
    staged = live.with_name(f".{live.name}.restore-{os.getpid()}")
    _remove(staged)
    try:
        create_private_file(staged)
        shutil.copyfile(backup, staged)
        if not _checksum_of_staged_matches(backup, staged):
            raise BackupChecksumBad(name, file=name)
        try:
            conn = sqlite3.connect(staged)
            try:
                result = conn.execute("PRAGMA integrity_check").fetchall()
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            raise BackupDamaged(str(exc), file=name) from None
        if result != [("ok",)]:
            raise BackupDamaged(f"integrity_check: {result[:3]}", file=name)
        return _swap(staged, live)
    finally:
        _remove(staged)
