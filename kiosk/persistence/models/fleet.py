"""Which process runs each kiosk code: one lease row per kiosk code, kept fresh by that kiosk's heartbeat."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kiosk.persistence.models.base import Base, UtcDateTime


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
