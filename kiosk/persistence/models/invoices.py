"""E-invoice requests (数电发票): the order made and stored before it is sent, its lines, the provider's answers,
red letters that reverse it, and the titles a household saved."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kiosk.persistence.models.base import PK, Base, Fen, IdMixin, UtcDateTime, utcnow


class InvoiceRequest(IdMixin, Base):
    """One blue invoice for one paid receipt. `order_no` is made in the transaction that creates the row and
    never changes while the provider may hold it; only a retry after a definite failure takes a new one (the
    old one stays in `invoice_answers`). `state`: kiosk.invoices.states.InvoiceState. A worker claims a row
    (`claimed_by`, `claimed_until`) before it talks to the provider about it."""

    __tablename__ = "invoice_requests"
    __table_args__ = (Index("ix_invoice_requests_state_due", "state", "next_attempt_at"),)
    site_id: Mapped[int] = mapped_column(PK, ForeignKey("sites.id"))
    order_no: Mapped[str] = mapped_column(String(20), unique=True)
    receipt_id: Mapped[int] = mapped_column(PK, ForeignKey("receipts.id"), index=True)
    payment_id: Mapped[int] = mapped_column(PK, ForeignKey("payments.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(PK, ForeignKey("households.id"), nullable=True, index=True)
    kiosk_id: Mapped[int | None] = mapped_column(PK, ForeignKey("kiosks.id"), nullable=True)
    buyer_kind: Mapped[str] = mapped_column(String(16))  # kiosk.ports.BuyerKind
    buyer_name: Mapped[str] = mapped_column(String(100))
    buyer_tax_id: Mapped[str] = mapped_column(String(18), default="")
    buyer_phone: Mapped[str] = mapped_column(String(20), default="")
    buyer_email: Mapped[str] = mapped_column(String(100), default="")
    total_fen: Mapped[int] = mapped_column(Fen)  # tax-included, the sum of the lines
    state: Mapped[str] = mapped_column(String(16), default="queued")
    failure_reason: Mapped[str] = mapped_column(String(200), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # talks with the provider since the last change
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    claimed_by: Mapped[str] = mapped_column(String(80), default="")
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # a void while the provider held the order: cancel it if it fails, reverse it with this reason once issued
    reverse_reason: Mapped[str] = mapped_column(String(2), default="")
    reverse_actor: Mapped[str] = mapped_column(String(80), default="")
    serial_no: Mapped[str] = mapped_column(String(40), default="")
    invoice_no: Mapped[str] = mapped_column(String(20), default="", index=True)
    qr_payload: Mapped[str] = mapped_column(String(600), default="")
    pdf_url: Mapped[str] = mapped_column(String(500), default="")
    issued_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    requested_by: Mapped[str] = mapped_column(String(80))
    receipt_qr: Mapped[str] = mapped_column(String(300), default="")  # printed on the receipt to fetch it later
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class InvoiceLineRecord(IdMixin, Base):
    """One line of a request, from one receipt item, in receipt order (`position` 1, 2, ...)."""

    __tablename__ = "invoice_lines"
    __table_args__ = (UniqueConstraint("request_id", "position"),)
    request_id: Mapped[int] = mapped_column(PK, ForeignKey("invoice_requests.id"))
    position: Mapped[int] = mapped_column(Integer)
    payment_item_id: Mapped[int | None] = mapped_column(PK, ForeignKey("payment_items.id"), nullable=True)
    fee_kind: Mapped[str] = mapped_column(String(32))
    goods_name: Mapped[str] = mapped_column(String(100))
    detail: Mapped[str] = mapped_column(String(40), default="")  # e.g. the bill's period
    tax_code: Mapped[str] = mapped_column(String(19))
    rate_permille: Mapped[int] = mapped_column(Integer)
    policy: Mapped[str] = mapped_column(String(16))  # kiosk.ports.TaxPolicy
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    included_fen: Mapped[int] = mapped_column(Fen)
    excluded_fen: Mapped[int] = mapped_column(Fen)
    tax_fen: Mapped[int] = mapped_column(Fen)


class RedLetter(IdMixin, Base):
    """A red-letter (红字) invoice that reverses an issued one, whole or some of its lines; its own order number,
    made and stored before it is sent, like a blue one."""

    __tablename__ = "invoice_red_letters"
    __table_args__ = (Index("ix_invoice_red_letters_state_due", "state", "next_attempt_at"),
                      Index("ix_invoice_red_letters_state_issued", "state", "issued_at"))
    request_id: Mapped[int] = mapped_column(PK, ForeignKey("invoice_requests.id"), index=True)
    order_no: Mapped[str] = mapped_column(String(20), unique=True)
    reason: Mapped[str] = mapped_column(String(2))  # kiosk.ports.RedLetterReason
    requested_by: Mapped[str] = mapped_column(String(80))  # the staff member (PIN identity) or office actor
    void_receipt_id: Mapped[int | None] = mapped_column(PK, ForeignKey("receipts.id"), nullable=True)
    whole: Mapped[bool] = mapped_column(Boolean, default=True)
    total_fen: Mapped[int] = mapped_column(Fen)  # tax-included amount reversed (positive)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    failure_reason: Mapped[str] = mapped_column(String(200), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    claimed_by: Mapped[str] = mapped_column(String(80), default="")
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    invoice_no: Mapped[str] = mapped_column(String(20), default="")
    qr_payload: Mapped[str] = mapped_column(String(600), default="")
    pdf_url: Mapped[str] = mapped_column(String(500), default="")
    issued_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


class RedLetterLine(IdMixin, Base):
    """Which lines of the blue invoice a red letter reverses (whole lines, amounts as the blue line's)."""

    __tablename__ = "invoice_red_lines"
    __table_args__ = (UniqueConstraint("red_letter_id", "line_id"),)
    red_letter_id: Mapped[int] = mapped_column(PK, ForeignKey("invoice_red_letters.id"))
    line_id: Mapped[int] = mapped_column(PK, ForeignKey("invoice_lines.id"), index=True)


class InvoiceAnswer(IdMixin, Base):
    """Every answer the provider gave (or the lack of one) about an order number: the record reconciliation
    and staff read, and what counts re-issues per day."""

    __tablename__ = "invoice_answers"
    request_id: Mapped[int] = mapped_column(PK, ForeignKey("invoice_requests.id"), index=True)
    red_letter_id: Mapped[int | None] = mapped_column(PK, ForeignKey("invoice_red_letters.id"), nullable=True)
    order_no: Mapped[str] = mapped_column(String(20), index=True)
    call: Mapped[str] = mapped_column(String(16))  # request / query / reissue / red_letter
    outcome: Mapped[str] = mapped_column(String(24))  # an InvoiceStatus, or unreachable / rejected / ...
    detail: Mapped[str] = mapped_column(Text, default="")
    worker: Mapped[str] = mapped_column(String(80), default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class SavedInvoiceTitle(IdMixin, Base):
    """A title a household used before, offered again (masked) so nobody types it twice."""

    __tablename__ = "invoice_titles"
    __table_args__ = (UniqueConstraint("household_id", "buyer_kind", "name", "tax_id"),)
    household_id: Mapped[int] = mapped_column(PK, ForeignKey("households.id"), index=True)
    buyer_kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    tax_id: Mapped[str] = mapped_column(String(18), default="")
    use_count: Mapped[int] = mapped_column(Integer, default=1)
    last_used_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
