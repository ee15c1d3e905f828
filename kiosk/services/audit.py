"""Append-only audit log in which each row carries the hash of the previous one."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.persistence.db import insert_ignoring_conflict
from kiosk.persistence.models import AuditEntry, AuditHead, utcnow

GENESIS = "0" * 64


def _digest(prev_hash: str, at: datetime, actor: str, action: str, subject: str, details: str) -> str:
    canonical = json.dumps([prev_hash, at.isoformat(timespec="microseconds"), actor, action, subject, details],
                           ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def record(session: Session, actor: str, action: str, subject: str = "", **details: Any) -> AuditEntry:
    """Append one row. The head row is locked so concurrent kiosks extend the chain in turn."""
    query = select(AuditHead).where(AuditHead.id == 1).with_for_update()
    head = session.scalars(query).one_or_none()
    if head is None:  # the first row ever; two kiosks may get here at once
        insert_ignoring_conflict(session, AuditHead, id=1, last_hash=GENESIS, last_entry_id=0)
        head = session.scalars(query).one()
    at = utcnow()
    text = json.dumps(details, ensure_ascii=False, sort_keys=True, default=str)
    entry = AuditEntry(at=at, actor=actor[:80], action=action[:60], subject=subject[:120], details=text,
                       prev_hash=head.last_hash,
                       hash=_digest(head.last_hash, at, actor[:80], action[:60], subject[:120], text))
    session.add(entry)
    session.flush()
    head.last_hash = entry.hash
    head.last_entry_id = entry.id
    return entry


@dataclass(frozen=True)
class ChainReport:
    entries: int
    broken_at: int | None  # id of the first row that does not verify
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify(session: Session) -> ChainReport:
    """Recompute every hash in order; any edited, deleted or inserted row breaks the chain."""
    prev = GENESIS
    count = 0
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
        count += 1
        if entry.prev_hash != prev:
            return ChainReport(count, entry.id, "previous hash does not match (a row was removed or inserted)")
        expected = _digest(prev, entry.at, entry.actor, entry.action, entry.subject, entry.details)
        if entry.hash != expected:
            return ChainReport(count, entry.id, "row content does not match its hash (the row was altered)")
        prev = entry.hash
    head = session.get(AuditHead, 1)
    if head is not None and head.last_hash != prev:
        return ChainReport(count, head.last_entry_id, "the newest rows are missing")
    return ChainReport(count, None)
