"""One clock: the same day at the kiosk (tests/clock/journey.py, the real facade and flows over SQLite on a fixed
clock) run by machines whose TZ is UTC, America/New_York and Asia/Shanghai gives the same screens, receipts,
records, receipt lists and settlements, all on the site's clock (Asia/Shanghai)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
MACHINE_ZONES = {"UTC": "UTC", "America/New_York": "EST", "Asia/Shanghai": "CST"}  # TZ -> time.tzname[0]
RANDOM_TAIL = re.compile(r"\b([A-Z]{1,2}\d{6})-[2-9A-Z]{5}\b")  # references: the site's date, then five random symbols
# the settlement CSV's chain heads: each run has its own audit key and references, so its own MACs (the link
# number and time of each chain head are compared)
CHAIN_MAC = re.compile(r"\b[0-9a-f]{64}\b")


def _journey(tz: str, data_dir: Path) -> dict[str, Any]:
    data_dir.mkdir()
    env = {**{k: v for k, v in os.environ.items() if k != "KIOSK_CONFIG"}, "TZ": tz}
    done = subprocess.run([sys.executable, "-m", "tests.clock.journey", str(data_dir)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(CHAIN_MAC.sub("<mac>", RANDOM_TAIL.sub(r"\1-xxxxx", done.stdout)))
    assert out.pop("machine_tz") == MACHINE_ZONES[tz]  # the machine really ran in that zone
    return out


@pytest.fixture(scope="module")
def days(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return {tz: _journey(tz, tmp_path_factory.mktemp("clock") / "data") for tz in MACHINE_ZONES}


def test_every_machine_zone_gives_the_same_screens_receipts_and_settlements(days):
    utc = days["UTC"]
    for tz in ("America/New_York", "Asia/Shanghai"):
        assert days[tz]["screens"] == utc["screens"], tz
        assert days[tz]["receipts"] == utc["receipts"], tz
        assert days[tz] == utc, tz


def test_at_0930_on_sunday_the_site_is_open_on_a_utc_machine(days):
    day = days["UTC"]
    assert day["after_sign_in"] == "household"
    assert "Outside service hours" not in day["screens"]["attract"] + day["screens"]["household"]
    household = day["screens"]["household"]
    assert household[household.index("Pay fees") + 1] == ""  # enabled: no reason given


def test_a_payment_at_0932_prints_0932_and_shows_0932_in_my_records(days):
    first = days["UTC"]["receipts"][0]
    assert first["issued_at"] == "2026-11-29T01:32:00+00:00"  # stored: UTC
    assert first["document"]["issued_at"] == "2026-11-29T09:32:00+08:00"  # the record: the site's time, with offset
    assert "Time                   2026-11-29 09:32:00" in first["printed"]
    rows = days["UTC"]["screens"]["records"]
    assert any(row.startswith("29 Nov 2026 09:32") and "¥285.00" in row for row in rows), rows
    assert any(row.startswith("30 Nov 2026 23:59") and "¥54.29" in row for row in rows), rows


def test_member_events_show_their_local_start_time(days):
    events = days["UTC"]["screens"]["member_events"]
    assert any(text.startswith("Thu 3 Dec 10:00") for text in events), events  # 02:00 UTC is 10:00 at the site


def test_the_last_second_of_a_month_is_in_that_days_settlement_and_the_next_second_in_the_next(days):
    day = days["UTC"]
    _at_0932, last_second, first_second = day["paid"]
    assert day["receipts_of_30_nov"] == [last_second] and day["receipts_of_1_dec"] == [first_second]
    nov30, dec1 = day["settlement_2026-11-30"], day["settlement_2026-12-01"]
    assert nov30["total_fen"] == 5429 and nov30["receipts"] == [last_second, last_second]
    assert dec1["total_fen"] == 17357 and dec1["receipts"] == [first_second, first_second]
    assert f"item,2026-11-30,2026-11-30T23:59:50+08:00,P261130-xxxxx,{last_second}" in nov30["csv"]
    assert f"item,2026-12-01,2026-12-01T00:00:10+08:00,P261201-xxxxx,{first_second}" in dec1["csv"]
    assert day["settlement_today"] == "2026-12-01"


def test_out_of_hours_at_five_past_midnight_site_time_and_the_cashiers_list_in_site_time(days):
    day = days["America/New_York"]
    assert day["screens"]["records_at_0005"][0] == "Outside service hours"
    assert f"{day['paid'][2]} · 00:00 · Fee payments · ¥173.57 · 1-0101" in day["screens"]["staff_receipts"]


def test_callbacks_and_notices_on_the_staff_pages_show_site_times(days):
    day = days["Asia/Shanghai"]
    assert any(text.startswith("29 Nov 2026 09:33 ·") for text in day["screens"]["staff_callbacks"]), day["screens"]
    assert any("28 Nov 2026 09:30" in text for text in day["screens"]["staff_notices"]), day["screens"]
