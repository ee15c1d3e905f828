"""IC cards bound to households, and every write to a card recorded as an intent first."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from kiosk.persistence.models.base import PK, Base, Fen, IdMixin, UtcDateTime, utcnow


class Card(IdMixin, Base):
    __tablename__ = "cards"
    uid_hex: Mapped[str] = mapped_column(String(20), unique=True)
    card_no: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # CardKind
    household_id: Mapped[int] = mapped_column(PK, ForeignKey("households.id"), index=True)
    resident_id: Mapped[int | None] = mapped_column(PK, ForeignKey("residents.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="active")  # CardStatus
    issue_seq: Mapped[int] = mapped_column(Integer, default=1)
    replaced_by_id: Mapped[int | None] = mapped_column(PK, ForeignKey("cards.id"), nullable=True)
    flagged_reason: Mapped[str] = mapped_column(String(200), default="")  # tamper / rollback, for staff
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    status_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # who froze it: a card frozen by staff is unfrozen by staff only; the resident's own freeze by the resident
    frozen_by_staff: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    plate: Mapped[str] = mapped_column(String(16), default="", server_default="")  # vehicle IC cards: the plate


class CardOperation(IdMixin, Base):
    """A value write to a card: pending before the write, done / cancelled once resolved."""

    __tablename__ = "card_operations"
    card_id: Mapped[int] = mapped_column(PK, ForeignKey("cards.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(PK, ForeignKey("payments.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))  # top_up / spend / sync / issue
    old_value_fen: Mapped[int] = mapped_column(Fen)
    new_value_fen: Mapped[int] = mapped_column(Fen)
    old_counter: Mapped[int] = mapped_column(Integer)
    new_counter: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
