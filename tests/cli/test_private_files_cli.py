"""Private files through `python -m kiosk` (SQLite in the data dir): a readable database is set private at start with
a warning on stderr; one the kiosk's user does not own is named by `kiosk db check` with its chmod; every file the
command creates is private, the settlement CSV included."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

OTHER_UID = 65534


def kiosk(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kiosk", *args, "--data-dir", str(data)], capture_output=True,
                          text=True, timeout=120, preexec_fn=lambda: os.umask(0o022))  # an operator's usual umask


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_db_check_sets_the_kiosks_own_files_private_and_names_what_it_cannot(tmp_path):
    data = tmp_path / "data"
    assert kiosk(data, "db", "upgrade").returncode == 0
    assert mode(data) == 0o700 and mode(data / "kiosk.sqlite3") == 0o600 and mode(data / "secrets.toml") == 0o600
    clean = kiosk(data, "db", "check")
    assert clean.returncode == 0 and "private files: no other user can read" in clean.stdout
    assert "E230" not in clean.stderr

    os.chmod(data, 0o755)
    os.chmod(data / "kiosk.sqlite3", 0o644)
    fixed = kiosk(data, "db", "check")
    assert fixed.returncode == 0, fixed.stderr
    assert f"[E2301] {data / 'kiosk.sqlite3'} " in fixed.stderr and f"[E2301] {data} " in fixed.stderr
    assert mode(data) == 0o700 and mode(data / "kiosk.sqlite3") == 0o600

    if os.geteuid() != 0:
        pytest.skip("giving the database to another user needs root")
    os.chmod(data / "kiosk.sqlite3", 0o644)
    os.chown(data / "kiosk.sqlite3", OTHER_UID, OTHER_UID)
    left = kiosk(data, "db", "check")
    assert left.returncode == 0
    assert f"kiosk: warning [E2300] {data / 'kiosk.sqlite3'} " in left.stderr
    assert f"chmod 600 {data / 'kiosk.sqlite3'}" in left.stderr and mode(data / "kiosk.sqlite3") == 0o644


def test_the_settlement_csv_and_a_backup_are_written_private(tmp_path):
    data = tmp_path / "data"
    assert kiosk(data, "seed-demo").returncode == 0
    out_csv = tmp_path / "settlement.csv"
    out_csv.write_text("an older, readable copy")
    os.chmod(out_csv, 0o644)
    report = kiosk(data, "report", "settlement", "--date", "2026-11-30", "--csv", str(out_csv))
    assert report.returncode == 0, report.stderr
    assert mode(out_csv) == 0o600 and out_csv.read_bytes().startswith(b"record,day,")
    backup = kiosk(data, "db", "backup")
    assert backup.returncode == 0, backup.stderr
    copy = Path(backup.stdout.strip())
    assert copy.parent == data / "backups" and mode(copy) == 0o600 and mode(copy.parent) == 0o700
