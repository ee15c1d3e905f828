"""The office commands end to end through `python -m kiosk`: seed, import, settlement, staff, receipts, exit codes."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.persistence.db import make_engine, make_session_factory, unit_of_work
from kiosk.persistence.models import Bill, Notice, StaffUser


def kiosk(data_dir: Path, db_url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kiosk", *args, "--data-dir", str(data_dir), "--db-url", db_url],
                          capture_output=True, text=True, input=stdin, timeout=120)


@pytest.fixture
def seeded(db_url, tmp_path):
    data = tmp_path / "data"
    out = kiosk(data, db_url, "seed-demo")
    assert out.returncode == 0, out.stderr
    assert "staff01" in out.stdout and "246810" in out.stdout
    return data


def _count(db_url, model, *where):
    engine = make_engine(db_url)
    with unit_of_work(make_session_factory(engine)) as s:
        from sqlalchemy import func, select

        n = s.scalar(select(func.count()).select_from(model).where(*where))
    engine.dispose()
    return n


def test_seed_demo_refuses_a_second_time_with_exit_5(seeded, db_url):
    again = kiosk(seeded, db_url, "seed-demo")
    assert again.returncode == 5 and "E3000" in again.stderr and "Traceback" not in again.stderr


def test_import_bills_all_or_nothing_reports_every_bad_line(seeded, db_url, tmp_path):
    before = _count(db_url, Bill)
    bad = tmp_path / "bad.csv"
    bad.write_text("unit_no,kind,period,amount,due_date,external_ref\n"
                   "1-0101,water,2026-12,45.60,2026-12-28,X-1\n"
                   "9-9999,water,2026-12,45.60,2026-12-28,X-2\n"
                   "1-0101,water,2026-12,12.3.4,2026-12-28,X-3\n", encoding="utf-8")
    out = kiosk(seeded, db_url, "import", "bills", str(bad))
    assert out.returncode == 9
    assert f"{bad}:3:" in out.stderr and f"{bad}:4:" in out.stderr and "E2100" in out.stderr
    assert _count(db_url, Bill) == before
    good = tmp_path / "good.csv"
    good.write_text("\ufeffunit_no,kind,period,amount,due_date,external_ref\n"
                    "1-0101,water,2026-12,45.60,2026-12-28,X-1\n", encoding="utf-8")
    ok = kiosk(seeded, db_url, "import", "bills", str(good))
    assert ok.returncode == 0, ok.stderr
    assert _count(db_url, Bill) == before + 1


def test_import_notices_adds_trilingual_notices(seeded, db_url, tmp_path):
    before = _count(db_url, Notice)
    f = tmp_path / "n.csv"
    f.write_text("category,audience_tier,publish_at,expire_at,pinned,title_zh_hans,title_zh_hant,title_en,"
                 "body_zh_hans,body_zh_hant,body_en\n"
                 "maintenance,,2026-12-01 09:00,2026-12-05 18:00,yes,停电通知,停電通知,Power cut,正文,正文,Body\n",
                 encoding="utf-8")
    out = kiosk(seeded, db_url, "import", "notices", str(f))
    assert out.returncode == 0, out.stderr
    assert _count(db_url, Notice) == before + 1


def test_settlement_report_prints_totals_and_writes_csv(seeded, db_url, tmp_path):
    from kiosk.persistence.models import Payment
    from sqlalchemy import select

    engine = make_engine(db_url)
    with unit_of_work(make_session_factory(engine)) as s:
        paid_at = s.scalars(select(Payment.completed_at).where(Payment.status == "succeeded")).first()
    engine.dispose()
    from zoneinfo import ZoneInfo

    day = paid_at.astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
    csv = tmp_path / "s.csv"
    out = kiosk(seeded, db_url, "report", "settlement", "--date", day, "--csv", str(csv))
    assert out.returncode == 0, out.stderr
    assert "by method" in out.stdout and "card" in out.stdout and "account credit created" in out.stdout
    header = csv.read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("record,day,local_time,reference,receipt_number")


def test_staff_add_reads_the_pin_from_stdin_and_stores_only_a_hash(seeded, db_url):
    out = kiosk(seeded, db_url, "staff", "add", "wang", "--role", "staff", stdin="864209\n")
    assert out.returncode == 0, out.stderr
    engine = make_engine(db_url)
    with unit_of_work(make_session_factory(engine)) as s:
        from sqlalchemy import select

        user = s.scalars(select(StaffUser).where(StaffUser.name == "wang")).one()
        assert "864209" not in user.pin_hash and user.pin_hash.startswith("scrypt$")
    engine.dispose()
    short = kiosk(seeded, db_url, "staff", "add", "zhao", "--role", "staff", stdin="12\n")
    assert short.returncode == 5 and "E3010" in short.stderr


def test_receipt_reprint_and_preview(seeded, db_url, tmp_path):
    out = kiosk(seeded, db_url, "receipt", "reprint", "1")
    assert out.returncode == 0 and "copy no. 1" in out.stdout, out.stderr
    png = tmp_path / "r1.png"
    prev = kiosk(seeded, db_url, "receipt", "preview", "1", "--out", str(png))
    assert prev.returncode == 0, prev.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    missing = kiosk(seeded, db_url, "receipt", "reprint", "999999")
    assert missing.returncode == 5 and "E3006" in missing.stderr


def test_bad_config_exits_2_naming_the_key(tmp_path, db_url):
    cfg = tmp_path / "site.toml"
    cfg.write_text("[devices.printer]\ncolumns = \"wide\"\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "kiosk", "db", "check", "--data-dir", str(tmp_path / "d"),
                          "--config", str(cfg)], capture_output=True, text=True)
    assert out.returncode == 2 and "devices.printer.columns" in out.stderr and "Traceback" not in out.stderr
