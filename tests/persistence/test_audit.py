"""The audit chain verifies, and any edit, deletion or insertion is found."""
from __future__ import annotations

import subprocess
import sys

import pytest


from kiosk.persistence.db import unit_of_work
from kiosk.services import audit


def _write_rows(factory, n=5):
    with unit_of_work(factory) as s:
        for i in range(n):
            audit.record(s, "staff:li", "notice.create", f"notice:{i}", title=f"停水通知 {i}")


def test_a_clean_chain_verifies(factory):
    _write_rows(factory)
    with unit_of_work(factory) as s:
        report = audit.verify(s)
    assert report.ok and report.entries == 5


def _tamper(engine, sql):
    # The triggers refuse UPDATE/DELETE; an attacker with the database file drops them first.
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER USER")
            conn.exec_driver_sql(sql)
            conn.exec_driver_sql("ALTER TABLE audit_log ENABLE TRIGGER USER")
        else:
            conn.exec_driver_sql("DROP TRIGGER trg_audit_log_no_update")
            conn.exec_driver_sql("DROP TRIGGER trg_audit_log_no_delete")
            conn.exec_driver_sql(sql)


@pytest.mark.parametrize("sql, broken_id", [
    ("UPDATE audit_log SET details = '{\"title\": \"x\"}' WHERE id = 3", 3),
    ("DELETE FROM audit_log WHERE id = 2", 3),
    ("DELETE FROM audit_log WHERE id = 5", 5),  # the newest row is gone
])
def test_tampering_with_any_row_is_detected(factory, engine, sql, broken_id):
    _write_rows(factory)
    _tamper(engine, sql)
    with unit_of_work(factory) as s:
        report = audit.verify(s)
    assert not report.ok and report.broken_at == broken_id


def test_cli_audit_verify_exits_non_zero_on_tampering(factory, engine, db_url, tmp_path):
    _write_rows(factory)
    cmd = [sys.executable, "-m", "kiosk", "audit", "verify", "--data-dir", str(tmp_path / "d"), "--db-url", db_url]
    ok = subprocess.run(cmd, capture_output=True, text=True)
    assert ok.returncode == 0 and "5 entries" in ok.stdout
    _tamper(engine, "UPDATE audit_log SET actor = 'someone-else' WHERE id = 4")
    bad = subprocess.run(cmd, capture_output=True, text=True)
    assert bad.returncode == 3 and "E2200" in bad.stderr and "4" in bad.stderr and "Traceback" not in bad.stderr
