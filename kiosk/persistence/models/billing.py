"""Bills, payments (intent -> outcome, idempotency key), their items, receipts and print jobs."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kiosk.persistence.models.base import PK, Base, Fen, IdMixin, UtcDateTime, utcnow


class Bill(IdMixin, Base):
    __tablename__ = "bills"
    __table_args__ = (Index("ix_bills_household_status", "household_id", "status"),)
    household_id: Mapped[int] = mapped_column(PK, ForeignKey("households.id"))
    kind: Mapped[str] = mapped_column(String(32))  # FeeKind
    period: Mapped[str] = mapped_column(String(7))  # "2026-10"
    amount_fen: Mapped[int] = mapped_column(Fen)
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")  # BillStatus
    external_ref: Mapped[str] = mapped_column(String(64), unique=True)
    payment_id: Mapped[int | None] = mapped_column(PK, ForeignKey("payments.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Payment(IdMixin, Base):
    """Written as an intent before any money moves; its outcome lands with its ledger entries."""

    __tablename__ = "payments"
    # Reports read one day (settlement, reconciliation) or one shift of a kiosk: never the whole history.
    __table_args__ = (Index("ix_payments_kiosk_completed", "kiosk_id", "completed_at"),)
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(24), unique=True)  # shown to the user / staff
    kiosk_id: Mapped[int | None] = mapped_column(PK, ForeignKey("kiosks.id"), nullable=True)
    household_id: Mapped[int | None] = mapped_column(PK, ForeignKey("households.id"), nullable=True, index=True)
    card_id: Mapped[int | None] = mapped_column(PK, ForeignKey("cards.id"), nullable=True)
    purpose: Mapped[str] = mapped_column(String(32))  # PaymentPurpose
    method: Mapped[str] = mapped_column(String(16))  # PaymentMethod
    amount_fen: Mapped[int] = mapped_column(Fen)
    received_fen: Mapped[int] = mapped_column(Fen, default=0)
    # Split tender: the part paid from the household's account credit (the rest by `method`); all of it
    # when `method` is credit, 0 when credit is not used.
    credit_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0")
    status: Mapped[str] = mapped_column(String(16), default="intent", index=True)  # PaymentStatus
    failure_code: Mapped[str] = mapped_column(String(16), default="")
    details: Mapped[str] = mapped_column(Text, default="{}")  # JSON: what the payment is for
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class PaymentItem(IdMixin, Base):
    __tablename__ = "payment_items"
    payment_id: Mapped[int] = mapped_column(PK, ForeignKey("payments.id"), index=True)
    bill_id: Mapped[int | None] = mapped_column(PK, ForeignKey("bills.id"), nullable=True, index=True)
    fee_kind: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(120))
    amount_fen: Mapped[int] = mapped_column(Fen)


class ReceiptCounter(Base):
    """One row per site, locked in the same transaction that takes a number: no gaps, no reuse."""

    __tablename__ = "receipt_counters"
    site_id: Mapped[int] = mapped_column(PK, ForeignKey("sites.id"), primary_key=True)
    next_number: Mapped[int] = mapped_column(Integer, default=1)


class Receipt(IdMixin, Base):
    __tablename__ = "receipts"
    # A day's receipts and voids of a site are read by (site_id, issued_at) (settlement), never the site's history.
    __table_args__ = (UniqueConstraint("site_id", "number"), Index("ix_receipts_site_issued", "site_id", "issued_at"))
    site_id: Mapped[int] = mapped_column(PK, ForeignKey("sites.id"))
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))  # ReceiptKind
    kiosk_id: Mapped[int | None] = mapped_column(PK, ForeignKey("kiosks.id"), nullable=True)
    payment_id: Mapped[int | None] = mapped_column(PK, ForeignKey("payments.id"), nullable=True, index=True)
    household_id: Mapped[int | None] = mapped_column(PK, ForeignKey("households.id"), nullable=True, index=True)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    language: Mapped[str] = mapped_column(String(8))
    content: Mapped[str] = mapped_column(Text)  # ReceiptDocument JSON, kept for reprint
    reprint_count: Mapped[int] = mapped_column(Integer, default=0)
    voided: Mapped[bool] = mapped_column(Boolean, default=False)
    void_reason: Mapped[str] = mapped_column(String(200), default="")
    voided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    void_receipt_id: Mapped[int | None] = mapped_column(PK, ForeignKey("receipts.id"), nullable=True, index=True)


class PrintJob(IdMixin, Base):
    """A receipt waiting for (or done with) the printer; failures never roll back a payment."""

    __tablename__ = "print_jobs"
    receipt_id: Mapped[int] = mapped_column(PK, ForeignKey("receipts.id"), index=True)
    kiosk_id: Mapped[int | None] = mapped_column(PK, ForeignKey("kiosks.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)  # queued/printed/failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    printed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
