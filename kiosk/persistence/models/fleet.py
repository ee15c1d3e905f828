"""The fleet: which process runs each kiosk code (leases), each kiosk's heartbeat, alert episodes and their outbox,
remote actions."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from kiosk.persistence.models.base import PK, Base, IdMixin, UtcDateTime


class KioskLease(Base):
    """Taken at start in one statement (kiosk.persistence.kiosk_lease); times are the database's clock."""

    __tablename__ = "kiosk_leases"
    kiosk_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    boot_id: Mapped[str] = mapped_column(String(64))  # the machine's boot: a reboot ends every process of it
    pid: Mapped[int] = mapped_column(Integer)
    token: Mapped[str] = mapped_column(String(32))  # this start's own mark: its heartbeat moves only its lease
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime)


class KioskHeartbeat(Base):
    """The last heartbeat of each kiosk (kiosk.fleet.heartbeat): one row per kiosk code, upserted every
    `[fleet] heartbeat_s`; `beat_at` is the database's clock. `devices` and `queues` are JSON objects."""

    __tablename__ = "kiosk_heartbeats"
    kiosk_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(UtcDateTime)
    version: Mapped[str] = mapped_column(String(40))
    host: Mapped[str] = mapped_column(String(255))
    uptime_s: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20))  # kiosk.fleet.heartbeat.State
    state_reason: Mapped[str] = mapped_column(String(200), default="")
    devices: Mapped[str] = mapped_column(Text, default="{}")
    queues: Mapped[str] = mapped_column(Text, default="{}")
    last_error: Mapped[str] = mapped_column(String(16), default="")
    clock_offset_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the database's minus the machine's
    clock_sync: Mapped[str] = mapped_column(String(80), default="")  # issue 19's clock check, as given


class FleetAlert(IdMixin, Base):
    """One row per alert episode (kiosk.fleet.alerts). At most one open row (cleared_at NULL) per kiosk, kind and
    subject: the partial unique index is what lets every kiosk evaluate and only one raise."""

    __tablename__ = "fleet_alerts"
    __table_args__ = (Index("uq_fleet_alerts_open", "kiosk_code", "kind", "subject", unique=True,
                            sqlite_where=text("cleared_at IS NULL"), postgresql_where=text("cleared_at IS NULL")),
                      Index("ix_fleet_alerts_first_seen", "first_seen"))
    kiosk_code: Mapped[str] = mapped_column(String(40))  # "" for the estate as a whole (PIN lock-outs)
    kind: Mapped[str] = mapped_column(String(32))  # kiosk.fleet.alerts.Kind
    subject: Mapped[str] = mapped_column(String(80), default="")  # the device, the card...
    sticky: Mapped[bool] = mapped_column(Boolean)
    detail: Mapped[str] = mapped_column(String(300), default="")
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)  # the condition gone since
    cleared_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    cleared_by: Mapped[str] = mapped_column(String(80), default="")
    note: Mapped[str] = mapped_column(String(300), default="")


class AlertOutbox(IdMixin, Base):
    """What the notifier must deliver (kiosk.fleet.notifier): written in the alert's own transaction, delivered
    at least once, retried with backoff; nothing is lost while the notifier is down."""

    __tablename__ = "fleet_alert_outbox"
    __table_args__ = (Index("ix_fleet_alert_outbox_due", "delivered_at", "next_attempt_at"),)
    alert_id: Mapped[int] = mapped_column(PK, ForeignKey("fleet_alerts.id"))
    event: Mapped[str] = mapped_column(String(16))  # raised / cleared
    body: Mapped[str] = mapped_column(Text)  # the JSON the webhook receives, signed as stored
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(String(300), default="")


class FleetAction(IdMixin, Base):
    """A remote action for one kiosk (kiosk.fleet.actions): sent by the office, picked up by the kiosk's next
    poll, applied once; `sent_by` and the outcome are kept (and audited)."""

    __tablename__ = "fleet_actions"
    __table_args__ = (Index("ix_fleet_actions_kiosk_pending", "kiosk_code", "applied_at"),)
    kiosk_code: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(16))  # kiosk.fleet.actions.Action
    message: Mapped[str] = mapped_column(String(200), default="")
    sent_by: Mapped[str] = mapped_column(String(80))
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)
    applied_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    outcome: Mapped[str] = mapped_column(String(200), default="")
