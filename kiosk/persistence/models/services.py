"""Resident services: bookings, parking, direct debit, callbacks, directory, member events."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kiosk.persistence.models.base import PK, Base, Fen, IdMixin, UtcDateTime, utcnow


class Booking(IdMixin, Base):
    __tablename__ = "bookings"
    household_id: Mapped[int] = mapped_column(PK, ForeignKey("households.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))  # BookingKind
    slot_date: Mapped[date] = mapped_column(Date)
    slot_period: Mapped[str] = mapped_column(String(8))  # "am" / "pm"
    ticket_no: Mapped[str] = mapped_column(String(24), unique=True)
    fee_fen: Mapped[int] = mapped_column(Fen)
    payment_id: Mapped[int | None] = mapped_column(PK, ForeignKey("payments.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="booked")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ParkingSpace(IdMixin, Base):
    __tablename__ = "parking_spaces"
    site_id: Mapped[int] = mapped_column(PK, ForeignKey("sites.id"))
    code: Mapped[str] = mapped_column(String(16), unique=True)
    zone: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))  # owned / rented / free
    holder_household_id: Mapped[int | None] = mapped_column(PK, ForeignKey("households.id"), nullable=True, index=True)
    monthly_rent_fen: Mapped[int] = mapped_column(Fen)
    price_fen: Mapped[int] = mapped_column(Fen, default=0)
    paid_until: Mapped[date | None] = mapped_column(Date, nullable=True)


class ParkingApplication(IdMixin, Base):
    __tablename__ = "parking_applications"
    space_id: Mapped[int] = mapped_column(PK, ForeignKey("parking_spaces.id"))
    household_id: Mapped[int] = mapped_column(PK, ForeignKey("households.id"))
    kind: Mapped[str] = mapped_column(String(8))  # rent / buy
    reference: Mapped[str] = mapped_column(String(24), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class DirectDebitMandate(IdMixin, Base):
    """Bank collection sign-up. The account number is kept masked plus a keyed hash, never in clear."""

    __tablename__ = "direct_debit_mandates"
    household_id: Mapped[int] = mapped_column(PK, ForeignKey("households.id"), index=True)
    bank_code: Mapped[str] = mapped_column(String(16))
    account_masked: Mapped[str] = mapped_column(String(32))
    account_hash: Mapped[str] = mapped_column(String(64))
    holder_name: Mapped[str] = mapped_column(String(60))
    reference: Mapped[str] = mapped_column(String(24), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CallbackRequest(IdMixin, Base):
    __tablename__ = "callback_requests"
    site_id: Mapped[int] = mapped_column(PK, ForeignKey("sites.id"))
    reference: Mapped[str] = mapped_column(String(24), unique=True)
    phone: Mapped[str] = mapped_column(String(20))
    topic: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(String(200), default="")
    household_id: Mapped[int | None] = mapped_column(PK, ForeignKey("households.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    done_by: Mapped[str] = mapped_column(String(60), default="")


class DirectoryEntry(IdMixin, Base):
    __tablename__ = "directory_entries"
    site_id: Mapped[int] = mapped_column(PK, ForeignKey("sites.id"))
    name_zh_hans: Mapped[str] = mapped_column(String(60))
    name_zh_hant: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(60))
    phone: Mapped[str] = mapped_column(String(24))
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(16), default="", server_default="")  # DIRECTORY_KINDS: its icon
    hours: Mapped[str] = mapped_column(String(40), default="", server_default="")  # "08:00-20:00", "24h", "" unknown


class MemberEvent(IdMixin, Base):
    __tablename__ = "member_events"
    site_id: Mapped[int] = mapped_column(PK, ForeignKey("sites.id"))
    title_zh_hans: Mapped[str] = mapped_column(String(120))
    title_zh_hant: Mapped[str] = mapped_column(String(120))
    title_en: Mapped[str] = mapped_column(String(120))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    capacity: Mapped[int] = mapped_column(Integer)
    audience_tier: Mapped[str | None] = mapped_column(String(16), nullable=True)  # None = everyone
    place_zh_hans: Mapped[str] = mapped_column(String(120), default="", server_default="")
    place_zh_hant: Mapped[str] = mapped_column(String(120), default="", server_default="")
    place_en: Mapped[str] = mapped_column(String(120), default="", server_default="")
    description_zh_hans: Mapped[str] = mapped_column(String(400), default="", server_default="")
    description_zh_hant: Mapped[str] = mapped_column(String(400), default="", server_default="")
    description_en: Mapped[str] = mapped_column(String(400), default="", server_default="")
    ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class EventSignup(IdMixin, Base):
    __tablename__ = "event_signups"
    __table_args__ = (UniqueConstraint("event_id", "household_id"),)
    event_id: Mapped[int] = mapped_column(PK, ForeignKey("member_events.id"))
    household_id: Mapped[int] = mapped_column(PK, ForeignKey("households.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
