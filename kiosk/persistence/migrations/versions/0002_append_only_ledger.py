"""Append-only ledger and audit log: the database itself refuses UPDATE and DELETE.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""
from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

APPEND_ONLY = ("journal_entries", "journal_lines", "audit_log", "cash_events")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            """
            CREATE FUNCTION kiosk_refuse_change() RETURNS trigger AS $$
            BEGIN
              RAISE EXCEPTION 'append-only table %: % refused', TG_TABLE_NAME, TG_OP;
            END $$ LANGUAGE plpgsql
            """
        )
    for table in APPEND_ONLY:
        for action in ("UPDATE", "DELETE"):
            name = f"trg_{table}_no_{action.lower()}"
            if dialect == "postgresql":
                op.execute(f"CREATE TRIGGER {name} BEFORE {action} ON {table} "
                           f"FOR EACH ROW EXECUTE FUNCTION kiosk_refuse_change()")
            else:
                op.execute(f"CREATE TRIGGER {name} BEFORE {action} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, 'append-only table {table}: {action} refused'); END")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        for action in ("UPDATE", "DELETE"):
            name = f"trg_{table}_no_{action.lower()}"
            if dialect == "postgresql":
                op.execute(f"DROP TRIGGER {name} ON {table}")
            else:
                op.execute(f"DROP TRIGGER {name}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION kiosk_refuse_change()")
