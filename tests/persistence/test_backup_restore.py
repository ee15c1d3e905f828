"""`kiosk db backup` and `kiosk db restore` on a real SQLite data directory (the demo estate): an online backup
taken while payments are written is whole, checksummed and passes `kiosk audit verify`'s checks; retention keeps
the newest of each day and week; a restore swaps a good backup in and keeps the old database aside, and refuses
(one translated line, the live database untouched) a damaged, truncated, mis-checksummed, tampered or newer
backup and a database the kiosk app still holds."""
from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kiosk.cli.main import main
from kiosk.domain.terms import AccountKind, EntryKind
from kiosk.persistence import backups
from kiosk.persistence.db import make_engine, make_session_factory, unit_of_work
from kiosk.persistence.models import Household, JournalEntry
from kiosk.services import integrity, ledger
from tests.support.chain_key import TEST_AUDIT_KEY, data_dir_factory, write_secrets


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("seeded") / "data"
    write_secrets(data)
    assert main(["seed-demo", "--data-dir", str(data)]) == 0
    return data


@pytest.fixture
def data(seeded: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(seeded, copy)
    return copy


def _live(data: Path) -> Path:
    return data / "kiosk.sqlite3"


def _pay(data: Path, count: int, stop: threading.Event | None = None) -> int:
    """Top-ups of 1.00 yuan into households' credit, each its own unit of work as the kiosk writes them."""
    engine = make_engine(f"sqlite:///{_live(data)}")
    factory = data_dir_factory(engine, data)
    done = 0
    try:
        with unit_of_work(factory) as s:
            households = list(s.scalars(select(Household.id).order_by(Household.id).limit(5)))
        while done < count and not (stop is not None and stop.is_set()):
            with unit_of_work(factory) as s:
                cash = ledger.account(s, AccountKind.CASH_BOX, kiosk_id=1)
                credit = ledger.account(s, AccountKind.CREDIT, household_id=households[done % len(households)])
                ledger.post(s, EntryKind.TOP_UP, [ledger.Posting(cash, 100), ledger.Posting(credit, -100)],
                            memo="test top-up", kiosk_id=1)
            done += 1
    finally:
        engine.dispose()
    return done


def _entries(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(*) FROM journal_entries").fetchone()[0]
    finally:
        conn.close()


def _verify(path: Path) -> integrity.IntegrityReport:
    engine = make_engine(f"sqlite:///{path}")
    try:
        with unit_of_work(make_session_factory(engine)) as s:
            return integrity.verify(s, TEST_AUDIT_KEY)
    finally:
        engine.dispose()


def _backup(data: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> Path:
    assert main(["db", "backup", "--data-dir", str(data), *extra]) == 0
    return Path(capsys.readouterr().out.splitlines()[0])


def test_backup_taken_while_payments_are_written_is_whole_checksummed_and_verifies(data, capsys):
    stop = threading.Event()
    paid: list[int] = []
    writer = threading.Thread(target=lambda: paid.append(_pay(data, 10_000, stop)))
    before = _entries(_live(data))
    writer.start()
    counts = []
    try:
        while len(counts) < 3:
            if _entries(_live(data)) > before + 3 * len(counts):  # a backup lands between payments
                copy = _backup(data, capsys)
                counts.append(_check_backup(copy, before))
    finally:
        stop.set()
        writer.join(30)
    assert paid and paid[0] > 3 and all(before < n <= before + paid[0] for n in counts)
    assert len(set(counts)) > 1  # the payments went on between the backups
    assert [b.path for b in backups.listed(data / "backups")] == [copy]  # one a day is kept: the newest


def _check_backup(copy: Path, before: int) -> int:
    assert copy.parent.name == "backups" and backups.parse(copy) is not None
    checked = subprocess.run(["sha256sum", "-c", backups.checksum_file(copy).name], cwd=copy.parent,
                             capture_output=True, text=True)
    assert checked.returncode == 0 and ": OK" in checked.stdout
    assert not Path(f"{copy}-wal").exists()  # one self-contained file
    report = _verify(copy)
    assert report.ok, [str(p) for p in report.problems[:3]]
    return _entries(copy)


def test_backup_to_another_folder_prints_where_it_went(data, capsys, tmp_path):
    copy = _backup(data, capsys, "--to", str(tmp_path / "usb"))
    assert copy.parent == tmp_path / "usb" and copy.exists() and backups.checksum_matches(copy)


def test_retention_keeps_the_newest_of_each_recent_day_and_week_and_every_tagged_backup(tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    start = datetime(2026, 11, 1, 3, 0, tzinfo=timezone.utc)  # a Sunday
    made = []
    for n in range(36):  # 36 nightly backups, two on the last day
        at = start + timedelta(days=n)
        made.append(at)
        name = f"kiosk-{at.strftime('%Y%m%dT%H%M%S%f')}Z.sqlite3"
        (folder / name).write_bytes(b"x")
        (folder / (name + ".sha256")).write_text("x")
    (folder / "kiosk-20261206T150000000000Z.sqlite3").write_bytes(b"x")  # the second of the last day
    (folder / "kiosk-20261001T120000000000Z-before-upgrade.sqlite3").write_bytes(b"x")  # tagged: kept
    gone = backups.prune(folder, nightly=7, weekly=4)
    left = sorted(b.taken_at for b in backups.listed(folder) if not b.tag)
    days = [d.strftime("%m-%d") for d in left]
    # the last 7 days (the 6th's newest only), and the newest of each of the 4 last ISO weeks
    assert days == ["11-15", "11-22", "11-29", "11-30", "12-01", "12-02", "12-03", "12-04", "12-05", "12-06"]
    assert left[-1].hour == 15
    assert (folder / "kiosk-20261001T120000000000Z-before-upgrade.sqlite3").exists()
    assert len(gone) == 37 - 10 and not any(backups.checksum_file(p).exists() for p in gone)


def test_backup_and_restore_of_a_postgresql_database_refuse_and_point_at_the_server(data, capsys):
    url = "postgresql+psycopg://kiosk@db.estate.example/kiosk"
    for args in (["db", "backup"], ["db", "restore", str(data / "x.sqlite3")]):
        run = _kiosk(capsys, data, *args, "--db-url", url)
        assert run.returncode == 3 and run.stderr.startswith("kiosk: [E8140] "), run.stderr
        assert "pg_dump" in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert not (data / "backups").exists()


def test_the_nightly_timer_on_a_postgresql_kiosk_succeeds_saying_the_office_server_backs_it_up(data, capsys):
    """The timer kiosk install writes runs `kiosk db backup --nightly`: a kiosk of a shared database has nothing
    of its own to back up, and a unit failing every night would only hide real failures."""
    run = _kiosk(capsys, data, "db", "backup", "--nightly", "--db-url", "postgresql+psycopg://kiosk@db.estate.example/k")
    assert run.returncode == 0 and "E8140" in run.stdout and "pg_dump" in run.stdout, run
    assert not (data / "backups").exists()


def _kiosk(capsys: pytest.CaptureFixture[str], data: Path, *args: str,
           language: str = "en") -> subprocess.CompletedProcess[str]:
    """`kiosk ARGS --data-dir DATA` in this process, in `language`."""
    settings = data / "site.toml"
    settings.write_text(f'[ui]\nlanguage = "{language}"\n', encoding="utf-8")
    capsys.readouterr()
    code = main([*args, "--data-dir", str(data), "--config", str(settings)])
    out = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out.out, out.err)


def test_restore_swaps_a_good_backup_in_and_keeps_the_replaced_database_aside(data, capsys):
    copy = _backup(data, capsys)
    at_backup = _entries(copy)
    _pay(data, 3)  # written after the backup: the restore takes them away, the aside file keeps them
    run = _kiosk(capsys, data, "db", "restore", str(copy))
    assert run.returncode == 0, run.stderr
    assert _entries(_live(data)) == at_backup
    aside = [p for p in data.iterdir() if p.name.startswith("kiosk.sqlite3.before-restore-")]
    assert len(aside) == 1 and _entries(aside[0]) == at_backup + 3 and str(aside[0]) in run.stdout
    assert _verify(_live(data)).ok and backups.checksum_matches(copy)  # the backup itself was not opened
    _pay(data, 1)  # the kiosk writes on in the restored database
    assert _verify(_live(data)).ok


def _rechecksum(path: Path) -> None:
    backups.checksum_file(path).write_text(f"{backups.sha256_of(path)}  {path.name}\n", encoding="ascii")


def _damage(copy: Path) -> None:
    with copy.open("r+b") as f:  # scribble over pages in the middle (tables' b-tree pages)
        f.seek(copy.stat().st_size // 2)
        f.write(b"\x07" * 20_000)
    _rechecksum(copy)


def _truncate(copy: Path) -> None:
    with copy.open("r+b") as f:
        f.truncate(copy.stat().st_size * 2 // 3)
    _rechecksum(copy)


def _flip_a_byte(copy: Path) -> None:
    with copy.open("r+b") as f:
        f.seek(copy.stat().st_size - 100)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0xFF]))


def _tamper_ledger(copy: Path) -> None:
    conn = sqlite3.connect(copy)
    with conn:
        conn.execute("DROP TRIGGER IF EXISTS trg_journal_lines_no_update")
        conn.execute("UPDATE journal_lines SET amount_fen = amount_fen + 100 WHERE id = "
                     "(SELECT max(id) FROM journal_lines WHERE amount_fen > 0)")
    conn.close()
    _rechecksum(copy)


def _newer_schema(copy: Path) -> None:
    conn = sqlite3.connect(copy)
    with conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    conn.close()
    _rechecksum(copy)


def _no_checksum(copy: Path) -> None:
    backups.checksum_file(copy).unlink()


@pytest.mark.parametrize("spoil, code", [(_damage, "E8143"), (_truncate, "E8143"), (_flip_a_byte, "E8142"),
                                         (_no_checksum, "E8142"), (_tamper_ledger, "E8145"),
                                         (_newer_schema, "E8144")],
                         ids=["corrupted", "truncated", "bad-checksum", "no-checksum", "tampered-ledger-row",
                              "newer-schema"])
def test_restore_refuses_a_bad_backup_with_one_line_and_leaves_the_live_database_untouched(data, capsys, spoil,
                                                                                           code):
    copy = _backup(data, capsys)
    spoil(copy)
    _pay(data, 1)
    before = _fingerprint(data)
    run = _kiosk(capsys, data, "db", "restore", str(copy), language="zh_Hans")
    assert run.returncode == 3 and run.stdout == ""
    assert run.stderr.startswith(f"kiosk: [{code}] ") and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert "未做任何更改" in run.stderr  # translated: "Nothing was changed."
    assert _fingerprint(data) == before


def _fingerprint(data: Path) -> dict[str, str]:
    """Every file of the data directory and its SHA-256 (backups aside, and the -shm: SQLite's shared-memory index,
    which every reader's read marks change while the app has the database open)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(data.iterdir())
            if p.is_file() and p.name not in ("site.toml", "kiosk.sqlite3-shm")}


HOLD = """
import sys, time
from kiosk.persistence import kiosk_lease
from kiosk.persistence.db import make_engine, make_session_factory
kiosk_lease.take(make_session_factory(make_engine(sys.argv[1])), "K01")
print("held", flush=True)
time.sleep(120)
"""


def test_restore_refuses_while_the_kiosk_app_holds_its_lease_and_goes_ahead_once_it_has_stopped(data, capsys):
    copy = _backup(data, capsys)
    app = subprocess.Popen([sys.executable, "-c", HOLD, f"sqlite:///{_live(data)}"], stdout=subprocess.PIPE,
                           text=True)
    try:
        assert app.stdout is not None and app.stdout.readline().strip() == "held"
        before = _fingerprint(data)
        run = _kiosk(capsys, data, "db", "restore", str(copy))
        assert run.returncode == 3 and run.stderr.startswith("kiosk: [E8146] "), run.stderr
        assert f"process {app.pid} " in run.stderr and _fingerprint(data) == before
    finally:
        app.kill()
        app.wait()
    run = _kiosk(capsys, data, "db", "restore", str(copy))  # killed (its lease left behind): this boot, not running
    assert run.returncode == 0, run.stderr
    with unit_of_work(make_session_factory(make_engine(f"sqlite:///{_live(data)}"))) as s:
        assert s.scalar(select(func.count()).select_from(JournalEntry)) == _entries(copy)


def test_restore_of_a_backup_from_an_older_schema_upgrades_the_staged_copy_and_verifies_it(data, capsys, tmp_path):
    from kiosk.persistence import schema
    from tests.persistence.test_chain_upgrade import _old_estate

    old = tmp_path / "old" / "kiosk.sqlite3"
    old.parent.mkdir()
    engine = make_engine(f"sqlite:///{old}")
    schema.upgrade(engine, "0008")
    _old_estate(engine)
    engine.dispose()
    copy = backups.take(old, tmp_path / "old-backups").path
    run = _kiosk(capsys, data, "db", "restore", str(copy))
    assert run.returncode == 0, run.stderr
    engine = make_engine(f"sqlite:///{_live(data)}")
    try:
        assert schema.current_revision(engine) == schema.head_revision(engine)
    finally:
        engine.dispose()
    assert _entries(_live(data)) == 2 and _verify(_live(data)).ok
    assert _sqlite_revision(copy) == "0008"  # the backup itself is as it was


def _sqlite_revision(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    finally:
        conn.close()
