"""Private files: the data directory 0700, the database, its WAL/SHM, backups, secrets and exports 0600.

The SQLite file holds the PIN hashes, the ledger and the audit chain; `secrets.toml` the card and MAC keys. Nothing
else on the kiosk box needs to read them, so every file the kiosk writes is created private:
- the process runs with umask 077 (set by the `kiosk` command), so anything it creates is private by default;
- the kiosk's own files are created with explicit modes too (`make_private_dir`, `create_private_file`,
  `write_private_text`), so they are private whatever umask a caller left;
- SQLite creates `-wal` and `-shm` with the main file's mode, so the main file is created 0600 before the first
  connection (`create_private_file` in `kiosk.persistence.db.make_engine`).

At start `check` looks at the data directory, the SQLite file and its `-wal`/`-shm`/`-journal`, `secrets.toml`,
the technician files and the backups. A file or folder that other users can read (any group or other bit) is:
- set back to 0600 / 0700 by the kiosk itself when the kiosk's user owns it (a copy restored with `cp`, an older
  version that created them 0644); the warning `FileMadePrivate` (E2301) says what was changed;
- left alone when another user owns it (the kiosk cannot and should not chmod it); the warning `FileNotPrivate`
  (E2300) names the file and the command that fixes it (`chmod 600 FILE`).
"""
from __future__ import annotations

import logging
import os
import shlex
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from kiosk.errors import FileMadePrivate, FileNotPrivate, KioskError

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600
UMASK = 0o077
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")
PRIVATE_NAMES = ("secrets.toml", "technician.toml", "technician.last-good.toml", "technician.pending",
                 "attract-snapshot.json", "demo-cards.json")
BACKUPS = "backups"


def use_private_umask() -> int:
    """Everything this process creates from now on is private (group and others get no bits); returns the old mask."""
    return os.umask(UMASK)


def make_private_dir(path: Path) -> Path:
    """Create the folder (and its parents) if missing; a folder created here is 0700 whatever the umask."""
    path = Path(path)
    if not path.is_dir():
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        os.chmod(path, DIR_MODE)
    return path


def create_private_file(path: Path) -> bool:
    """Create an empty 0600 file if none is there (never truncates one); True when it was created here."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, FILE_MODE)  # the umask cannot widen it, but a umask of 0o177 would narrow it: set it exactly
    finally:
        os.close(fd)
    return True


def write_private_bytes(path: Path, data: bytes) -> Path:
    """Write a whole file atomically (a temporary file beside it, then rename): the result is 0600, even when an
    older file with a wider mode was there."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    return path


def write_private_text(path: Path, text: str, encoding: str = "utf-8") -> Path:
    return write_private_bytes(path, text.encode(encoding))


# --- the check at start ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    """A file or folder other users could read. `fixed`: the kiosk set it to `wanted` itself."""

    path: Path
    mode: int  # the permission bits found
    wanted: int
    fixed: bool

    @property
    def fix(self) -> str:
        return f"chmod {self.wanted:o} {shlex.quote(str(self.path))}"

    def warning(self) -> KioskError:
        if self.fixed:
            return FileMadePrivate(str(self.path), path=str(self.path), mode=f"{self.mode:04o}",
                                   wanted=f"{self.wanted:04o}")
        return FileNotPrivate(str(self.path), path=str(self.path), mode=f"{self.mode:04o}", fix=self.fix)


def kiosk_files(data_dir: Path, sqlite_file: Path | None) -> Iterator[tuple[Path, int]]:
    """(path, wanted mode) of every private thing that exists: the data dir, the SQLite file and its companions,
    the secrets and technician files, the backups folder and each backup."""
    data_dir = Path(data_dir)
    if data_dir.is_dir():
        yield data_dir, DIR_MODE
        for name in PRIVATE_NAMES:
            if (data_dir / name).is_file():
                yield data_dir / name, FILE_MODE
        backups = data_dir / BACKUPS
        if backups.is_dir() and not backups.is_symlink():
            yield backups, DIR_MODE
            for entry in sorted(backups.iterdir()):
                if entry.is_file() and not entry.is_symlink():
                    yield entry, FILE_MODE
    if sqlite_file is not None:
        for candidate in (sqlite_file, *(Path(f"{sqlite_file}{s}") for s in SQLITE_COMPANIONS)):
            if candidate.is_file():
                yield candidate, FILE_MODE


def check(data_dir: Path, sqlite_file: Path | None, *, fix: bool) -> list[Finding]:
    """Everything other users could read; with `fix`, the ones the kiosk's user owns are set to their private mode."""
    findings: list[Finding] = []
    me = os.geteuid()
    for path, wanted in kiosk_files(data_dir, sqlite_file):
        try:
            st = path.lstat()
        except FileNotFoundError:  # a -wal that went away between listing and looking
            continue
        mode = stat.S_IMODE(st.st_mode)
        if not mode & 0o077:
            continue
        if fix and st.st_uid == me and not stat.S_ISLNK(st.st_mode):
            try:
                os.chmod(path, mode & 0o700)  # only the group and other bits go: 0644 -> 0600, 0755 -> 0700
                findings.append(Finding(path, mode, mode & 0o700, True))
                continue
            except OSError:  # a read-only mount: say how to fix it
                pass
        findings.append(Finding(path, mode, wanted, False))
    return findings


def log_findings(findings: Iterable[Finding], language: str) -> None:
    """One warning line per finding, translated, with its code (the CLI prints warnings on stderr)."""
    for finding in findings:
        warning = finding.warning()
        log.warning("[%s] %s", warning.code, warning.user_message(language))
