"""Kiosk leases: one row per kiosk code naming the process that runs it (host, boot, pid) and when the database
last heard from it, so that a second kiosk configured with the same code refuses to start.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-09
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kiosk_leases",
        sa.Column("kiosk_code", sa.String(length=40), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("boot_id", sa.String(length=64), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kiosk_code", name=op.f("pk_kiosk_leases")),
    )


def downgrade() -> None:
    op.drop_table("kiosk_leases")
