"""The keyed audit chain: one chain per kiosk (its own head row), every protected row linked by a MAC.

A link says "row `row_id` of `kind` had this content digest (its `version`-th state)" and carries
HMAC-SHA256(estate audit key, previous link's MAC + this link's fields). The key lives in secrets.toml,
never in the database: kiosk.persistence.chain writes links, kiosk.services.integrity verifies them.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kiosk.persistence.models.base import PK, Base, IdMixin, UtcDateTime, utcnow


class ChainHead(Base):
    """A chain's tip. Locked FOR UPDATE only by commits of its own kiosk: kiosks never wait on each other."""

    __tablename__ = "chain_heads"
    chain: Mapped[str] = mapped_column(String(40), primary_key=True)  # the kiosk code, or "upgrade@0009"
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), default=0)
    last_mac: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(16))  # fingerprint of the key the chain is written with
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ChainLink(IdMixin, Base):
    """Append-only (migration 0009's triggers refuse UPDATE and DELETE)."""

    __tablename__ = "chain_links"
    __table_args__ = (UniqueConstraint("chain", "seq"), UniqueConstraint("kind", "row_id", "version"),
                      Index("ix_chain_links_chain_at", "chain", "at"))
    chain: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    kind: Mapped[str] = mapped_column(String(16))  # journal_entry / card_operation / receipt / audit / seal
    row_id: Mapped[int] = mapped_column(PK)
    version: Mapped[int] = mapped_column(Integer)  # 1 when the row was written, +1 at every later change
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the row's canonical content
    mac: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
