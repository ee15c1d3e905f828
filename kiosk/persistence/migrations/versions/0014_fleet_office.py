"""The estate office (issue 20): each kiosk's last heartbeat, alert episodes with their notifier outbox, and
remote actions (docs/office.md).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "kiosk_heartbeats",
        sa.Column("kiosk_code", sa.String(length=40), nullable=False),
        sa.Column("beat_at", WHEN, nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("uptime_s", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("state_reason", sa.String(length=200), nullable=False),
        sa.Column("devices", sa.Text(), nullable=False),
        sa.Column("queues", sa.Text(), nullable=False),
        sa.Column("last_error", sa.String(length=16), nullable=False),
        sa.Column("clock_offset_ms", sa.Integer(), nullable=True),
        sa.Column("clock_sync", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("kiosk_code", name=op.f("pk_kiosk_heartbeats")),
    )
    op.create_table(
        "fleet_alerts",
        sa.Column("kiosk_code", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("sticky", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.String(length=300), nullable=False),
        sa.Column("first_seen", WHEN, nullable=False),
        sa.Column("last_seen", WHEN, nullable=False),
        sa.Column("ended_at", WHEN, nullable=True),
        sa.Column("cleared_at", WHEN, nullable=True),
        sa.Column("cleared_by", sa.String(length=80), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fleet_alerts")),
    )
    op.create_index("uq_fleet_alerts_open", "fleet_alerts", ["kiosk_code", "kind", "subject"], unique=True,
                    sqlite_where=sa.text("cleared_at IS NULL"), postgresql_where=sa.text("cleared_at IS NULL"))
    op.create_index("ix_fleet_alerts_first_seen", "fleet_alerts", ["first_seen"], unique=False)
    op.create_table(
        "fleet_alert_outbox",
        sa.Column("alert_id", ID, nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", WHEN, nullable=False),
        sa.Column("delivered_at", WHEN, nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=False),
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["fleet_alerts.id"],
                                name=op.f("fk_fleet_alert_outbox_alert_id_fleet_alerts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fleet_alert_outbox")),
    )
    op.create_index("ix_fleet_alert_outbox_due", "fleet_alert_outbox", ["delivered_at", "next_attempt_at"],
                    unique=False)
    op.create_table(
        "fleet_actions",
        sa.Column("kiosk_code", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("message", sa.String(length=200), nullable=False),
        sa.Column("sent_by", sa.String(length=80), nullable=False),
        sa.Column("sent_at", WHEN, nullable=False),
        sa.Column("applied_at", WHEN, nullable=True),
        sa.Column("outcome", sa.String(length=200), nullable=False),
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fleet_actions")),
    )
    op.create_index("ix_fleet_actions_kiosk_pending", "fleet_actions", ["kiosk_code", "applied_at"], unique=False)


def downgrade() -> None:
    op.drop_table("fleet_actions")
    op.drop_index("ix_fleet_alert_outbox_due", table_name="fleet_alert_outbox")
    op.drop_table("fleet_alert_outbox")
    op.drop_index("ix_fleet_alerts_first_seen", table_name="fleet_alerts")
    op.drop_index("uq_fleet_alerts_open", table_name="fleet_alerts")
    op.drop_table("fleet_alerts")
    op.drop_table("kiosk_heartbeats")
