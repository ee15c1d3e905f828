"""Online backups of the SQLite database: SQLite's backup API (a consistent snapshot read while the kiosk keeps
writing: in WAL mode a reader never blocks the writer), never a copy of the live file, which could pair a main
file from one moment with a WAL from another.

A backup is `kiosk-<UTC time>Z[-<tag>].sqlite3` with `<same>.sha256` beside it (sha256sum's format, so
`sha256sum -c` checks it too). It is written under a `.partial` name and renamed only once complete, checked
(`PRAGMA integrity_check`) and checksummed, so a backup that has its name is whole. Untagged backups (the
nightly ones) are pruned: the newest of each of the last N days and of each of the last M ISO weeks stay. Tagged
ones (`before-upgrade`, `before-restore`) are kept until someone deletes them. docs/deploy.md, "Backups and
restore".
"""
from __future__ import annotations

import hashlib
import os
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from kiosk.private_files import create_private_file, make_private_dir, write_private_text

NAME = re.compile(r"^kiosk-(?P<stamp>\d{8}T\d{6})(?P<frac>\d*)Z(?:-(?P<tag>[a-z-]+))?\.sqlite3$")
CHECKSUM_SUFFIX = ".sha256"


@dataclass(frozen=True)
class Backup:
    path: Path
    taken_at: datetime
    tag: str

    @property
    def checksum_file(self) -> Path:
        return checksum_file(self.path)


def checksum_file(path: Path) -> Path:
    return path.with_name(path.name + CHECKSUM_SUFFIX)


def parse(path: Path) -> Backup | None:
    """The backup a file name stands for, or None when the name is not a backup's."""
    m = NAME.match(path.name)
    if m is None:
        return None
    at = datetime.strptime(m["stamp"], "%Y%m%dT%H%M%S").replace(tzinfo=timezone.utc)
    if m["frac"]:
        at = at.replace(microsecond=int(m["frac"][:6].ljust(6, "0")))
    return Backup(path, at, m["tag"] or "")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def take(db_path: Path, backup_dir: Path, *, tag: str = "", now: datetime | None = None) -> Backup:
    """One online backup of the SQLite database at `db_path` into `backup_dir` (0700; the files 0600)."""
    make_private_dir(backup_dir)
    at = now or datetime.now(timezone.utc)
    name = f"kiosk-{at.strftime('%Y%m%dT%H%M%S%f')}Z{'-' + tag if tag else ''}.sqlite3"
    target = backup_dir / name
    partial = target.with_name(name + ".partial")
    partial.unlink(missing_ok=True)
    create_private_file(partial)
    try:
        src = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
        try:
            dst = sqlite3.connect(partial)
            try:
                src.backup(dst)  # all pages in one step: one read transaction, one consistent snapshot
                dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
                result = dst.execute("PRAGMA integrity_check").fetchall()
            finally:
                dst.close()
        finally:
            src.close()
        if result != [("ok",)]:
            raise sqlite3.DatabaseError(f"the backup copy fails its integrity check: {result[:3]}")
        with partial.open("rb+") as f:
            os.fsync(f.fileno())
        write_private_text(checksum_file(target), f"{sha256_of(partial)}  {name}\n", encoding="ascii")
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        checksum_file(target).unlink(missing_ok=True)
        raise
    _fsync_dir(backup_dir)
    return Backup(target, at, tag)


def checksum_matches(path: Path) -> bool:
    """True when `<path>.sha256` exists and holds the file's SHA-256 (sha256sum's format: digest, two spaces,
    name)."""
    try:
        recorded = checksum_file(path).read_text(encoding="ascii").split()[0].lower()
    except (OSError, IndexError, UnicodeDecodeError):
        return False
    return recorded == sha256_of(path)


def listed(backup_dir: Path) -> list[Backup]:
    """Every backup in the folder, newest first."""
    if not backup_dir.is_dir():
        return []
    found = [b for b in (parse(p) for p in backup_dir.iterdir() if p.is_file()) if b is not None]
    return sorted(found, key=lambda b: b.taken_at, reverse=True)


def to_keep(backups: list[Backup], nightly: int, weekly: int) -> set[Path]:
    """The newest untagged backup of each of the last `nightly` days and of each of the last `weekly` ISO weeks
    (days and weeks that have a backup); every tagged backup."""
    keep = {b.path for b in backups if b.tag}
    plain = sorted((b for b in backups if not b.tag), key=lambda b: b.taken_at, reverse=True)
    days: set[object] = set()
    weeks: set[object] = set()
    for b in plain:
        day, week = b.taken_at.date(), b.taken_at.isocalendar()[:2]
        if day not in days and len(days) < nightly:
            days.add(day)
            keep.add(b.path)
        if week not in weeks and len(weeks) < weekly:
            weeks.add(week)
            keep.add(b.path)
    return keep


def prune(backup_dir: Path, nightly: int, weekly: int) -> list[Path]:
    """Delete the backups (and their checksums) that retention does not keep; returns the deleted backups."""
    backups = listed(backup_dir)
    keep = to_keep(backups, nightly, weekly)
    gone = [b.path for b in backups if b.path not in keep]
    for path in gone:
        path.unlink(missing_ok=True)
        checksum_file(path).unlink(missing_ok=True)
    return gone


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
