"""Notices, staff and shifts, the audit log, device and cash-acceptor events, QR orders."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kiosk.persistence.models.base import PK, Base, Fen, IdMixin, UtcDateTime, utcnow


class Notice(IdMixin, Base):
    __tablename__ = "notices"
    site_id: Mapped[int] = mapped_column(PK, ForeignKey("sites.id"))
    category: Mapped[str] = mapped_column(String(24))
    audience_tier: Mapped[str | None] = mapped_column(String(16), nullable=True)  # None = everyone
    publish_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    expire_at: Mapped[datetime] = mapped_column(UtcDateTime)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    title_zh_hans: Mapped[str] = mapped_column(String(200))
    title_zh_hant: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    body_zh_hans: Mapped[str] = mapped_column(Text)
    body_zh_hant: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")  # each edit adds 1 (office)


class StaffUser(IdMixin, Base):
    __tablename__ = "staff_users"
    name: Mapped[str] = mapped_column(String(60), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # StaffRole
    pin_hash: Mapped[str] = mapped_column(String(200))
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    card_uid_hex: Mapped[str | None] = mapped_column(String(20), unique=True, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The office web console's password (kiosk.services.web_passwords) and its own lock-out counters.
    web_password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    web_failed_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    web_locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class Shift(IdMixin, Base):
    __tablename__ = "shifts"
    kiosk_id: Mapped[int] = mapped_column(PK, ForeignKey("kiosks.id"))
    staff_id: Mapped[int] = mapped_column(PK, ForeignKey("staff_users.id"))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    expected_cash_fen: Mapped[int | None] = mapped_column(Fen, nullable=True)
    counted_cash_fen: Mapped[int | None] = mapped_column(Fen, nullable=True)
    handover_receipt_id: Mapped[int | None] = mapped_column(PK, ForeignKey("receipts.id"), nullable=True)


class AuditEntry(IdMixin, Base):
    """Who did what; linked into the keyed chain (kiosk.persistence.chain). `prev_hash`/`hash`: the plain SHA-256
    chain of rows written before migration 0009 (sealed into the keyed chain), empty on newer rows."""

    __tablename__ = "audit_log"
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(120), default="")
    details: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class DeviceEvent(IdMixin, Base):
    __tablename__ = "device_events"
    kiosk_id: Mapped[int | None] = mapped_column(PK, ForeignKey("kiosks.id"), nullable=True)
    device: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(300), default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


class CashEventRecord(IdMixin, Base):
    """Every banknote event seen, with the validator's event counter, for exactly-once crediting."""

    __tablename__ = "cash_events"
    kiosk_id: Mapped[int | None] = mapped_column(PK, ForeignKey("kiosks.id"), nullable=True)
    counter: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(24))
    value_fen: Mapped[int] = mapped_column(Fen, default=0)
    payment_id: Mapped[int | None] = mapped_column(PK, ForeignKey("payments.id"), nullable=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class GatewayOrderRecord(IdMixin, Base):
    __tablename__ = "gateway_orders"
    payment_id: Mapped[int] = mapped_column(PK, ForeignKey("payments.id"), index=True)
    order_id: Mapped[str] = mapped_column(String(64), unique=True)
    amount_fen: Mapped[int] = mapped_column(Fen)
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    code_url: Mapped[str] = mapped_column(String(300), default="")
    gateway_txn: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # Which network took it (wechatpay, alipay, sandbox; "" = recorded before migration 0013: the one configured
    # gateway of that time) and how: "native" (the kiosk showed a code) or "code" (the resident's payment code).
    network: Mapped[str] = mapped_column(String(16), default="", server_default="")
    kind: Mapped[str] = mapped_column(String(8), default="native", server_default="native")
    # A void's refund at the gateway: its id is stored before the call (kiosk.services.voids), "" = none.
    refund_id: Mapped[str] = mapped_column(String(64), default="", server_default="")
