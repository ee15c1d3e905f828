"""An account's lock and its balance in one round trip on PostgreSQL (issue 17, docs/fleet.md "The lock and the
balance in one round trip"): `kiosk_locked_balance(account)` locks the account row FOR NO KEY UPDATE, then sums its
journal lines in halves (kiosk.persistence.sums) in a statement of its own. A VOLATILE function's statements each
take a new snapshot under READ COMMITTED, so the sum sees what a spender that held the lock committed while this
one waited; one statement that locked and summed would read the lines as they were before the wait. SQLite has
nothing to create: its writer holds the whole database, and `ledger.locked_balance` locks and sums as before.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""
from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# 4294967296 = 2**32: kiosk.persistence.sums.HALF (integer division truncates, % keeps the dividend's sign)
LOCKED_BALANCE = """
CREATE OR REPLACE FUNCTION kiosk_locked_balance(account bigint, OUT high numeric, OUT low numeric)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM 1 FROM accounts WHERE id = account FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'kiosk: no account %', account USING ERRCODE = 'no_data_found';
    END IF;
    SELECT coalesce(sum(amount_fen / 4294967296), 0), coalesce(sum(amount_fen % 4294967296), 0)
      INTO high, low FROM journal_lines WHERE account_id = account;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(LOCKED_BALANCE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS kiosk_locked_balance(bigint)")
