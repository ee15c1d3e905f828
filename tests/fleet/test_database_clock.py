"""Times that matter come from the database's clock: a kiosk process whose machine clock is three hours fast pays
a bill on the shared PostgreSQL; the payment's, its receipt's, its journal entry's and its audit rows' times are
the server's, the kiosk logs a warning and its maintenance page lists the clock as degraded. (Without the
database clock every one of those times would be three hours ahead.)"""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select, text

from kiosk.flows.staff import DEVICE_DETAILS
from kiosk.i18n import translate
from kiosk.persistence.db import make_engine
from kiosk.persistence.models import JournalEntry, Payment, Receipt

ROOT = Path(__file__).resolve().parents[2]
SKEW_S = 3 * 3600


def test_a_kiosk_with_a_wrong_clock_stamps_the_servers_time_and_says_its_clock_is_off(pg_url, tmp_path):
    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            before = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
        child = subprocess.run([sys.executable, "-m", "tests.fleet.wrong_clock_child",
                                json.dumps({"url": pg_url, "data_dir": str(tmp_path / "data"), "skew_s": SKEW_S})],
                               cwd=ROOT, capture_output=True, text=True, timeout=180)
        assert child.returncode == 0, child.stderr[-3000:]
        with engine.connect() as conn:
            after = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
            out = json.loads(child.stdout.strip().splitlines()[-1])
            payment = conn.execute(select(Payment.created_at, Payment.completed_at)
                                   .where(Payment.id == out["payment_id"])).one()
            stamped = [*payment, *conn.execute(select(Receipt.issued_at).where(Receipt.payment_id == out["payment_id"]))
                       .scalars(), *conn.execute(select(JournalEntry.created_at)
                                                 .where(JournalEntry.payment_id == out["payment_id"])).scalars()]
    finally:
        engine.dispose()
    machine = datetime.fromisoformat(out["machine_now"])
    assert machine - after > timedelta(seconds=SKEW_S - 60)  # the child's machine clock really was hours fast
    assert len(stamped) >= 4
    slack = timedelta(seconds=1)
    for at in stamped:  # every time the kiosk stored is the server's, not its own
        assert before - slack <= at <= after + slack, (at, before, after)
    assert "off the database's" in child.stderr and "NTP" in child.stderr
    [clock] = [h for h in out["health"] if h[0] == "clock"]
    assert clock[1] == "degraded" and abs(int(clock[2]) - SKEW_S) <= 2
    assert "10800" in translate(DEVICE_DETAILS["clock"], "zh_Hans", detail=clock[2])
