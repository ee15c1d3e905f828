"""What an attacker with shell access does: switch the append-only triggers off and change rows with plain SQL."""
from __future__ import annotations

from sqlalchemy import Engine, inspect

from kiosk.persistence.db import make_session_factory, unit_of_work
from kiosk.services import integrity
from tests.support.chain_key import TEST_AUDIT_KEY

GUARDED = ("journal_entries", "journal_lines", "audit_log", "cash_events", "chain_links")


def tamper(engine: Engine, *statements: str) -> None:
    """Run the statements with every append-only trigger out of the way (dropped on SQLite, disabled on PostgreSQL)."""
    with engine.begin() as conn:
        pg = engine.dialect.name == "postgresql"
        guarded = [t for t in GUARDED if t in inspect(conn).get_table_names()]
        for table in guarded:
            if pg:
                conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            else:
                for action in ("update", "delete"):
                    conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS trg_{table}_no_{action}")
        for sql in statements:
            conn.exec_driver_sql(sql)
        if pg:
            for table in guarded:
                conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def report(engine: Engine, key: bytes = TEST_AUDIT_KEY) -> integrity.IntegrityReport:
    """`kiosk audit verify`'s checks, read through a plain (unbound) session: verifying writes nothing."""
    with unit_of_work(make_session_factory(engine)) as s:
        return integrity.verify(s, key)
