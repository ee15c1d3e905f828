"""Cards: the plate of a vehicle IC card, and whether a freeze was set by staff.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.add_column(sa.Column("frozen_by_staff", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("plate", sa.String(length=16), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.drop_column("plate")
        batch_op.drop_column("frozen_by_staff")
