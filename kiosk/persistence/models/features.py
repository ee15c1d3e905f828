"""Features staff switched off for the whole site: every kiosk of the site reads them from the shared database."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kiosk.persistence.models.base import PK, Base, IdMixin, UtcDateTime, utcnow


class FeatureSwitch(IdMixin, Base):
    """One row while a feature (kiosk.domain.terms.SiteFeature) is switched off at a site; switching it back on
    deletes the row. Who did what, and when, is in the audit log."""

    __tablename__ = "feature_switches"
    __table_args__ = (UniqueConstraint("site_id", "feature"),)
    site_id: Mapped[int] = mapped_column(PK, ForeignKey("sites.id"))
    feature: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(String(200))  # what residents read: a msgid from the staff's list
    switched_off_by: Mapped[int] = mapped_column(PK, ForeignKey("staff_users.id"))
    switched_off_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
