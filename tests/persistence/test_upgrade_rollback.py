"""`kiosk upgrade` between real releases: the previous version is this repository's code as it was before the
keyed audit chain (schema 0008, from git), the new one is the code under test (head). A kiosk at 0008 with real
data (an estate, balanced entries, a card write, receipts, the old SHA-256 audit chain) is upgraded: backup,
migrations by the new release's own `kiosk db upgrade`, the new release started with NOTIFY_SOCKET on the
upgrade's listener. A migration that fails and a new version that never says READY=1 are rolled back: `current`
points at the old release again, the database is the backup, and the old release starts on it.

The releases' start command here is `ready.sh` below: the release's own `kiosk db check` (and `kiosk audit verify`
where the release has the keyed chain) on the data directory, then READY=1 on NOTIFY_SOCKET, then it runs on.
It stands for the app's own READY=1 (`kiosk run` after its window and devices are up), which lands with the
install and watchdog work (issue 19, item 2); with it the start command is the default '{release}/bin/kiosk run'."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from kiosk.cli.main import main
from kiosk import upgrades
from kiosk.persistence import backups, schema
from kiosk.persistence.db import make_engine
from tests.persistence.test_chain_upgrade import _old_estate
from tests.support.chain_key import write_secrets
from tests.support.tamper import report

REPO = Path(__file__).resolve().parents[2]
OLD = "0008"
CODE = ("kiosk", "devices", "config")
WRAPPER = f"""#!/bin/sh
# a release's command: its own code on the shared interpreter (on a kiosk: the release's own virtualenv)
R=$(cd "$(dirname "$0")/.." && pwd)
PYTHONPATH="$R" exec {sys.executable} -P -m kiosk "$@"
"""
READY = f"""#!/bin/sh
# the start command of these tests: the release's own checks on the data directory, then READY=1, then it runs on
set -e
R="$1"; D="$2"; shift 2
"$R/bin/kiosk" db check --data-dir "$D" >/dev/null
[ "$#" -eq 0 ] || "$R/bin/kiosk" "$@" --data-dir "$D" >/dev/null
{sys.executable} -c 'import os, socket; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"READY=1", os.environ["NOTIFY_SOCKET"])'
exec sleep 600
"""


def _release(root: Path, name: str) -> Path:
    release = root / "releases" / name
    (release / "bin").mkdir(parents=True)
    command = release / "bin" / "kiosk"
    command.write_text(WRAPPER)
    command.chmod(0o755)
    return release


@pytest.fixture(scope="module")
def shelf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Releases to copy from: 'old' (the code before migration 0009, from git) and 'new' (the code under test)."""
    shelf = tmp_path_factory.mktemp("shelf")
    added = subprocess.run(["git", "-C", str(REPO), "log", "--format=%H", "--diff-filter=A", "-1", "--",
                            "kiosk/persistence/migrations/versions/0009_keyed_audit_chain.py"],
                           capture_output=True, text=True, check=True).stdout.strip()
    old = _release(shelf, "old")
    archive = subprocess.run(["git", "-C", str(REPO), "archive", f"{added}^", *CODE], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
    new = _release(shelf, "new")
    for part in CODE:
        shutil.copytree(REPO / part, new / part, ignore=shutil.ignore_patterns("__pycache__"))
    return shelf


@pytest.fixture
def box(shelf: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A kiosk box: root/releases/{old,new}, root/current -> old, and a data directory at schema 0008 with data."""
    root = tmp_path / "opt"
    shutil.copytree(shelf / "releases", root / "releases", symlinks=True)
    upgrades.point(root, "current", root / "releases" / "old")
    (root / "ready.sh").write_text(READY)
    data = tmp_path / "data"
    write_secrets(data)
    engine = make_engine(f"sqlite:///{data / 'kiosk.sqlite3'}")
    try:
        schema.upgrade(engine, OLD)
        _old_estate(engine)
    finally:
        engine.dispose()
    return root, data


def _upgrade(root: Path, data: Path, release: str, *extra: str, ready_s: float = 60) -> int:
    start = f"sh {root / 'ready.sh'} {{release}} {{data_dir}}"
    return main(["upgrade", str(root / "releases" / release), "--data-dir", str(data), "--ready-s", str(ready_s),
                 "--start-command", start + "".join(f" {e}" for e in extra)])


def _revision(data: Path) -> str:
    engine = make_engine(f"sqlite:///{data / 'kiosk.sqlite3'}")
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def _rows(data: Path) -> tuple[int, ...]:
    engine = make_engine(f"sqlite:///{data / 'kiosk.sqlite3'}")
    try:
        with engine.connect() as conn:
            return tuple(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                         for table in ("journal_entries", "journal_lines", "card_operations", "receipts", "audit_log"))
    finally:
        engine.dispose()


def _old_version_starts_on_its_data(root: Path, data: Path) -> None:
    """What the service does next: start `current` (the old release); it reports READY=1 on the old schema."""
    assert (root / "current").resolve() == root / "releases" / "old"
    argv = ["sh", str(root / "ready.sh"), str(root / "current"), str(data)]
    assert upgrades.wait_ready(argv, 60) is not None


def test_upgrade_from_the_previous_schema_to_head_keeps_the_ledger_and_the_chain(box, capsys):
    root, data = box
    before = _rows(data)
    assert _upgrade(root, data, "new", "audit", "verify") == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "reported READY=1" in out and "upgraded to new" in out
    assert (root / "current").resolve() == root / "releases" / "new"
    assert (root / "previous").resolve() == root / "releases" / "old"
    engine = make_engine(f"sqlite:///{data / 'kiosk.sqlite3'}")
    try:
        assert schema.current_revision(engine) == schema.head_revision(engine)
    finally:
        engine.dispose()
    assert _rows(data)[:4] == before[:4]  # every entry, line, card write and receipt; audit rows may be added
    rep = report(make_engine(f"sqlite:///{data / 'kiosk.sqlite3'}"))
    assert rep.ok, [str(p) for p in rep.problems[:3]]
    assert rep.counts["journal_entries"] == 2 and rep.counts["receipts"] == 2
    taken = [b for b in backups.listed(data / "backups") if b.tag == "before-upgrade"]
    assert taken and any(_sqlite_revision(b.path) == OLD for b in taken)


def _sqlite_revision(path: Path) -> str:
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    finally:
        conn.close()


FAILING_MIGRATION = '''"""A migration that fails half-way (a table created, then an error)."""
import sqlalchemy as sa
from alembic import op

revision = "9999"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("half_done", sa.Column("id", sa.Integer, primary_key=True))
    op.execute("UPDATE receipt_counters SET next_number = next_number + 100")
    raise RuntimeError("this migration fails half-way")


def downgrade() -> None:
    op.drop_table("half_done")
'''


def test_a_migration_that_fails_rolls_back_to_the_old_release_on_its_old_data(box, capsys):
    root, data = box
    broken = root / "releases" / "broken"
    shutil.copytree(root / "releases" / "new", broken, symlinks=True)
    head = schema.head_revision(make_engine("sqlite://"))
    (broken / "kiosk/persistence/migrations/versions/9999_fails.py").write_text(FAILING_MIGRATION.format(head=head))
    before = _rows(data)
    assert _upgrade(root, data, "broken") == 3
    err = capsys.readouterr().err
    assert err.startswith("kiosk: [E8151] ") and len(err.strip().splitlines()) == 1, err
    assert _revision(data) == OLD and _rows(data) == before
    _old_version_starts_on_its_data(root, data)


def test_a_new_version_that_never_reports_ready_is_rolled_back_at_the_limit(box, capsys):
    root, data = box
    before = _rows(data)
    silent = "\n".join(line for line in READY.splitlines() if "sendto" not in line)  # starts, never says READY=1
    (root / "ready.sh").write_text(silent + "\n")
    began = time.monotonic()
    assert _upgrade(root, data, "new", ready_s=3) == 3
    took = time.monotonic() - began
    err = capsys.readouterr().err
    assert err.startswith("kiosk: [E8152] ") and "3 秒" in err and len(err.strip().splitlines()) == 1, err
    assert took >= 3
    assert _revision(data) == OLD and _rows(data) == before  # migrated to head, then the backup put back
    (root / "ready.sh").write_text(READY)
    _old_version_starts_on_its_data(root, data)


def test_upgrade_to_a_directory_that_is_not_a_release_changes_nothing(box, capsys, tmp_path):
    root, data = box
    before = _rows(data)
    (root / "releases" / "empty").mkdir()
    assert _upgrade(root, data, "empty") == 3
    assert capsys.readouterr().err.startswith("kiosk: [E8150] ")
    assert (root / "current").resolve() == root / "releases" / "old" and _rows(data) == before
    assert not (data / "backups").exists()
