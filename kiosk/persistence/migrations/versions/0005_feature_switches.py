"""Feature switches: a feature staff switched off for the whole site, with the message residents see.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feature_switches",
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("feature", sa.String(length=32), nullable=False),
        sa.Column("message", sa.String(length=200), nullable=False),
        sa.Column("switched_off_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("switched_off_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_feature_switches_site_id_sites")),
        sa.ForeignKeyConstraint(["switched_off_by"], ["staff_users.id"],
                                name=op.f("fk_feature_switches_switched_off_by_staff_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feature_switches")),
        sa.UniqueConstraint("site_id", "feature", name=op.f("uq_feature_switches_site_id_feature")),
    )


def downgrade() -> None:
    op.drop_table("feature_switches")
