"""The office commands on a machine whose TZ is not the site's: the settlement day, its CSV times (ISO 8601 with
the offset) and the printed report are the site's (Asia/Shanghai)."""
from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from zoneinfo import ZoneInfo

from sqlalchemy import select

from kiosk.persistence.db import make_engine, make_session_factory, unit_of_work
from kiosk.persistence.models import Payment

SITE = ZoneInfo("Asia/Shanghai")


def _kiosk(data_dir, db_url, *args):  # type: ignore[no-untyped-def]
    env = {**{k: v for k, v in os.environ.items() if k != "KIOSK_CONFIG"}, "TZ": "America/New_York"}
    return subprocess.run([sys.executable, "-m", "kiosk", *args, "--data-dir", str(data_dir), "--db-url", db_url],
                          capture_output=True, text=True, timeout=120, env=env)


def test_settlement_on_a_new_york_machine_uses_the_sites_day_and_times(db_url, tmp_path):
    data = tmp_path / "data"
    assert _kiosk(data, db_url, "seed-demo").returncode == 0
    engine = make_engine(db_url)
    with unit_of_work(make_session_factory(engine)) as s:
        paid = s.scalars(select(Payment).where(Payment.status == "succeeded").order_by(Payment.id)).first()
        reference, local = paid.reference, paid.completed_at.astimezone(SITE)
    engine.dispose()
    out_csv = tmp_path / "s.csv"
    out = _kiosk(data, db_url, "report", "settlement", "--date", local.date().isoformat(), "--csv", str(out_csv))
    assert out.returncode == 0, out.stderr
    assert f"settlement {local.date().isoformat()} (Asia/Shanghai)" in out.stdout
    rows = [r for r in csv.DictReader(io.StringIO(out_csv.read_text(encoding="utf-8"))) if r["reference"] == reference]
    assert rows and {r["local_time"] for r in rows} == {local.isoformat(timespec="seconds")}
    assert rows[0]["local_time"].endswith("+08:00") and rows[0]["day"] == local.date().isoformat()


def test_an_unknown_site_timezone_stops_the_command_naming_the_key(tmp_path):
    site = tmp_path / "site.toml"
    site.write_text('[site]\ntimezone = "Asia/Shanghia"\n', encoding="utf-8")
    env = {**os.environ, "KIOSK_CONFIG": str(site)}
    out = subprocess.run([sys.executable, "-m", "kiosk", "report", "settlement", "--date", "2026-11-30",
                          "--data-dir", str(tmp_path / "data")], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "E1000" in out.stderr and "'site.timezone' 'Asia/Shanghia' is not a known time zone" in out.stderr
