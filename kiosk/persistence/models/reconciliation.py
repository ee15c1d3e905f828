"""The totals of each `kiosk report gateway` run, per network: what the daily settlement shows of that day."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kiosk.persistence.models.base import PK, Base, Fen, IdMixin, UtcDateTime, utcnow


class GatewayReconciliationRun(IdMixin, Base):
    """One row per network per run (append-only); the settlement reads the newest run of the day."""

    __tablename__ = "gateway_reconciliations"
    __table_args__ = (Index("ix_gateway_reconciliations_site_day", "site_id", "day"),)
    site_id: Mapped[int] = mapped_column(PK, ForeignKey("sites.id"))
    day: Mapped[date] = mapped_column(Date)  # the site's local day
    network: Mapped[str] = mapped_column(String(16))  # the gateway driver's name: wechatpay, alipay
    run: Mapped[str] = mapped_column(String(32))  # the run's id, the same for each network of one run
    ran_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    matched_count: Mapped[int] = mapped_column(Integer)
    matched_fen: Mapped[int] = mapped_column(Fen)
    unmatched_count: Mapped[int] = mapped_column(Integer)
    unmatched_fen: Mapped[int] = mapped_column(Fen)
