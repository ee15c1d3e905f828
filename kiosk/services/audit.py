"""The audit log: one row per state change (who, what, on what, details), protected by the keyed chain.

Each row is linked into this kiosk's chain when its transaction commits (kiosk.persistence.chain), like
every journal entry, card operation and receipt; `kiosk audit verify` (kiosk.services.integrity) checks
them all. No row is locked to append one: kiosks write their audit rows side by side.

Rows written before the keyed chain (migration 0009) carry the old plain SHA-256 chain in `prev_hash` /
`hash`; new rows leave both empty.
"""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from kiosk.persistence.chain import binding_of
from kiosk.persistence.models import AuditEntry, utcnow


def record(session: Session, actor: str, action: str, subject: str = "", **details: Any) -> AuditEntry:
    """Append one row (linked into the chain at commit)."""
    text = json.dumps(details, ensure_ascii=False, sort_keys=True, default=str)
    entry = AuditEntry(at=utcnow(), actor=actor[:80], action=action[:60], subject=subject[:120], details=text,
                       prev_hash="", hash="")
    session.add(entry)
    session.flush()
    return entry


def verify(session: Session) -> Any:
    """Every check of `kiosk audit verify`, with the audit key the session's factory is bound to
    (kiosk.services.integrity.verify; the report's `ok` says whether all holds)."""
    from kiosk.errors import ChainNotBound
    from kiosk.services import integrity

    binding = binding_of(session)
    if binding is None:
        raise ChainNotBound("audit.verify needs a session factory bound to the audit key")
    return integrity.verify(session, binding.key)
