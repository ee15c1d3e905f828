"""Gateway orders say which network took them (wechatpay / alipay / sandbox), how (native code shown by the kiosk,
or the resident's payment code) and the refund id of a void's refund at the gateway (docs/payments.md, "Both
networks at once").

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("gateway_orders") as batch:
        batch.add_column(sa.Column("network", sa.String(length=16), nullable=False, server_default=""))
        batch.add_column(sa.Column("kind", sa.String(length=8), nullable=False, server_default="native"))
        batch.add_column(sa.Column("refund_id", sa.String(length=64), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("gateway_orders") as batch:
        batch.drop_column("refund_id")
        batch.drop_column("kind")
        batch.drop_column("network")
