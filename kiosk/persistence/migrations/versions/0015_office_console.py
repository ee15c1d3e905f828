"""The office web console (issue 20): a web password per staff user with its own lock-out counters, and a
version on each notice so that two staff editing one notice are told (docs/office.md, "The console").

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff_users") as batch:
        batch.add_column(sa.Column("web_password_hash", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("web_failed_attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("web_locked_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("notices") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("notices") as batch:
        batch.drop_column("version")
    with op.batch_alter_table("staff_users") as batch:
        batch.drop_column("web_locked_until")
        batch.drop_column("web_failed_attempts")
        batch.drop_column("web_password_hash")
