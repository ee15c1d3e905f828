"""Outside services' access tokens, in the database so that every kiosk of an estate shares one."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kiosk.persistence.models.base import Base, IdMixin, UtcDateTime


class ProviderToken(IdMixin, Base):
    """The current access token of one provider account (e.g. "nuonuo"), with the times tokens were obtained
    (the provider's budget) and a short lease held by the kiosk that is fetching the next one."""

    __tablename__ = "provider_tokens"
    provider: Mapped[str] = mapped_column(String(32), unique=True)
    token: Mapped[str] = mapped_column(String(200), default="")
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    obtained: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of Unix seconds, newest last
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
