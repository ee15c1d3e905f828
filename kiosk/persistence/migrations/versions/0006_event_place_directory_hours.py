"""Member events say where, what and until when; directory entries say their kind and hours.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

LANGUAGES = ("zh_hans", "zh_hant", "en")


def upgrade() -> None:
    with op.batch_alter_table("member_events", schema=None) as batch_op:
        for lang in LANGUAGES:
            batch_op.add_column(sa.Column(f"place_{lang}", sa.String(length=120), nullable=False, server_default=""))
        for lang in LANGUAGES:
            batch_op.add_column(sa.Column(f"description_{lang}", sa.String(length=400), nullable=False,
                                          server_default=""))
        batch_op.add_column(sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("directory_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("hours", sa.String(length=40), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("directory_entries", schema=None) as batch_op:
        batch_op.drop_column("hours")
        batch_op.drop_column("kind")
    with op.batch_alter_table("member_events", schema=None) as batch_op:
        batch_op.drop_column("ends_at")
        for lang in reversed(LANGUAGES):
            batch_op.drop_column(f"description_{lang}")
        for lang in reversed(LANGUAGES):
            batch_op.drop_column(f"place_{lang}")
