"""The estate: sites, kiosks, buildings, households and their residents / members."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kiosk.persistence.models.base import PK, Base, IdMixin, UtcDateTime, utcnow


class Site(IdMixin, Base):
    __tablename__ = "sites"
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh_hans: Mapped[str] = mapped_column(String(120))
    name_zh_hant: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))


class Kiosk(IdMixin, Base):
    __tablename__ = "kiosks"
    site_id: Mapped[int] = mapped_column(PK, ForeignKey("sites.id"))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    out_of_service: Mapped[bool] = mapped_column(Boolean, default=False)
    out_of_service_reason: Mapped[str] = mapped_column(String(200), default="")


class Building(IdMixin, Base):
    __tablename__ = "buildings"
    __table_args__ = (UniqueConstraint("site_id", "code"),)
    site_id: Mapped[int] = mapped_column(PK, ForeignKey("sites.id"))
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(60))


class Household(IdMixin, Base):
    """A unit (房号) and the account holder; bills, cards and parking belong to it."""

    __tablename__ = "households"
    __table_args__ = (UniqueConstraint("site_id", "unit_no"),)
    site_id: Mapped[int] = mapped_column(PK, ForeignKey("sites.id"))
    building_id: Mapped[int] = mapped_column(PK, ForeignKey("buildings.id"))
    unit_no: Mapped[str] = mapped_column(String(16))  # e.g. "2-0803"
    holder_name: Mapped[str] = mapped_column(String(60))
    phone: Mapped[str] = mapped_column(String(20), default="")
    pin_hash: Mapped[str] = mapped_column(String(200), default="")
    pin_failed: Mapped[int] = mapped_column(Integer, default=0)
    pin_locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Resident(IdMixin, Base):
    __tablename__ = "residents"
    household_id: Mapped[int] = mapped_column(PK, ForeignKey("households.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    phone: Mapped[str] = mapped_column(String(20), default="")
    tier: Mapped[str] = mapped_column(String(16), default="ordinary")  # MemberTier
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
