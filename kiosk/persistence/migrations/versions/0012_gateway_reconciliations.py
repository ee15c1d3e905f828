"""Gateway reconciliation runs: per network, the matched and unmatched totals of a `kiosk report gateway` run, so
that the daily settlement shows them (docs/payments.md, "Reconciliation").

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "gateway_reconciliations",
        sa.Column("site_id", ID, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("run", sa.String(length=32), nullable=False),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("matched_count", sa.Integer(), nullable=False),
        sa.Column("matched_fen", ID, nullable=False),
        sa.Column("unmatched_count", sa.Integer(), nullable=False),
        sa.Column("unmatched_fen", ID, nullable=False),
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_gateway_reconciliations_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_reconciliations")),
    )
    op.create_index("ix_gateway_reconciliations_site_day", "gateway_reconciliations", ["site_id", "day"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_gateway_reconciliations_site_day", table_name="gateway_reconciliations")
    op.drop_table("gateway_reconciliations")
