"""Double-entry ledger: accounts, journal entries and their lines (append-only)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kiosk.persistence.models.base import PK, Base, Fen, IdMixin, UtcDateTime, utcnow


class Account(IdMixin, Base):
    """A ledger account. Balance = sum of its lines (debit positive, credit negative)."""

    __tablename__ = "accounts"
    code: Mapped[str] = mapped_column(String(80), unique=True)  # e.g. "stored_value:card:17"
    kind: Mapped[str] = mapped_column(String(32), index=True)  # AccountKind
    household_id: Mapped[int | None] = mapped_column(PK, ForeignKey("households.id"), nullable=True, index=True)
    card_id: Mapped[int | None] = mapped_column(PK, ForeignKey("cards.id"), nullable=True, index=True)
    kiosk_id: Mapped[int | None] = mapped_column(PK, ForeignKey("kiosks.id"), nullable=True)
    fee_kind: Mapped[str | None] = mapped_column(String(32), nullable=True)


class JournalEntry(IdMixin, Base):
    __tablename__ = "journal_entries"
    # Account credit and the cash box of the site's kiosks over a day or a shift (credit_report, staff).
    __table_args__ = (Index("ix_journal_entries_kiosk_created", "kiosk_id", "created_at"),)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(32))  # EntryKind
    memo: Mapped[str] = mapped_column(String(200), default="")
    payment_id: Mapped[int | None] = mapped_column(PK, ForeignKey("payments.id"), nullable=True, index=True)
    kiosk_id: Mapped[int | None] = mapped_column(PK, ForeignKey("kiosks.id"), nullable=True)
    reverses_entry_id: Mapped[int | None] = mapped_column(PK, ForeignKey("journal_entries.id"), nullable=True)


class JournalLine(IdMixin, Base):
    __tablename__ = "journal_lines"
    __table_args__ = (Index("ix_journal_lines_account_entry", "account_id", "entry_id"),)
    entry_id: Mapped[int] = mapped_column(PK, ForeignKey("journal_entries.id"), index=True)
    account_id: Mapped[int] = mapped_column(PK, ForeignKey("accounts.id"))
    amount_fen: Mapped[int] = mapped_column(Fen)
