"""Canonical content of every protected row, its digest, and the link MAC: the one definition the writer
(kiosk.persistence.chain), the verifier (kiosk.services.integrity) and migration 0009 share.

A digest is SHA-256 over a JSON array of the row's fields in a fixed order (below); a journal entry's
digest includes every line of it (id, account, amount) in id order, so a balanced edit to two lines
changes it. The fields are listed by hand on purpose: a column added later is covered only once it is
added here under a new DIGEST_VERSION (tests/persistence/test_chain.py fails until then).
"""
from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timezone
from typing import Any

DIGEST_VERSION = "v1"
GENESIS_MAC = "0" * 64

JOURNAL_ENTRY = "journal_entry"
CARD_OPERATION = "card_operation"
RECEIPT = "receipt"
AUDIT = "audit"
SEAL = "seal"  # the first link of the upgrade chain: carries the old SHA-256 chain's head hash

FIELDS: dict[str, tuple[str, ...]] = {
    JOURNAL_ENTRY: ("id", "created_at", "kind", "memo", "payment_id", "kiosk_id", "reverses_entry_id"),
    CARD_OPERATION: ("id", "card_id", "payment_id", "kind", "old_value_fen", "new_value_fen", "old_counter",
                     "new_counter", "status", "created_at", "resolved_at"),
    RECEIPT: ("id", "site_id", "number", "kind", "kiosk_id", "payment_id", "household_id", "issued_at", "language",
              "content", "reprint_count", "voided", "void_reason", "voided_at", "void_receipt_id"),
    AUDIT: ("id", "at", "actor", "action", "subject", "details", "prev_hash", "hash"),
}
LINE_FIELDS = ("id", "entry_id", "account_id", "amount_fen")
TABLES = {JOURNAL_ENTRY: "journal_entries", CARD_OPERATION: "card_operations", RECEIPT: "receipts",
          AUDIT: "audit_log"}
KIND_OF_TABLE = {table: kind for kind, table in TABLES.items()}


def canonical(value: Any) -> Any:
    """One JSON value per stored value, the same whichever backend it was read from."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
        return aware.astimezone(timezone.utc).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"no canonical form for {type(value).__name__}")


def _get(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, Mapping) else getattr(row, name)


def _sha(payload: Any) -> str:
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def row_values(kind: str, row: Any) -> list[Any]:
    """A mapping (a Core row's ._mapping) or an ORM object: the same list."""
    return [canonical(_get(row, name)) for name in FIELDS[kind]]


def row_digest(kind: str, row: Any) -> str:
    if kind == JOURNAL_ENTRY:
        raise ValueError("a journal entry's digest needs its lines: entry_digest")
    return _sha([DIGEST_VERSION, kind, row_values(kind, row)])


def entry_digest(entry: Any, lines: Iterable[Any]) -> str:
    ordered = sorted(([canonical(_get(line, name)) for name in LINE_FIELDS] for line in lines), key=lambda v: v[0])
    return _sha([DIGEST_VERSION, JOURNAL_ENTRY, row_values(JOURNAL_ENTRY, entry), ordered])


def key_id(key: bytes) -> str:
    """A fingerprint that names the key without revealing it (kiosks of one estate must show the same)."""
    return hmac.new(key, b"estate-kiosk audit key id", hashlib.sha256).hexdigest()[:16]


def link_mac(key: bytes, *, chain: str, seq: int, prev_mac: str, kind: str, row_id: int, version: int,
             digest: str, at: datetime) -> str:
    message = json.dumps([DIGEST_VERSION, chain, seq, prev_mac, kind, row_id, version, digest, canonical(at)],
                         separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def link_mac_of(key: bytes, link: Any, prev_mac: str) -> str:
    return link_mac(key, chain=_get(link, "chain"), seq=int(_get(link, "seq")), prev_mac=prev_mac,
                    kind=_get(link, "kind"), row_id=int(_get(link, "row_id")), version=int(_get(link, "version")),
                    digest=_get(link, "digest"), at=_get(link, "at"))


def legacy_digest(prev_hash: str, at: datetime, actor: str, action: str, subject: str, details: str) -> str:
    """The plain SHA-256 chain audit rows carried before the keyed chain (kept to verify the sealed part)."""
    canonical_text = json.dumps([prev_hash, at.isoformat(timespec="microseconds"), actor, action, subject, details],
                                ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical_text.encode("utf-8")).hexdigest()


def short_mac(mac: str, length: int = 32) -> str:
    """What the settlement slip prints: the first 128 bits in groups of 8."""
    head = mac[:length]
    return " ".join(head[i:i + 8] for i in range(0, len(head), 8))


def link_rows(key: bytes, chain: str, start_seq: int, prev_mac: str,
              items: Sequence[tuple[str, int, int, str]], at: datetime) -> list[dict[str, Any]]:
    """Links for (kind, row_id, version, digest) items appended after (start_seq - 1, prev_mac)."""
    out = []
    for offset, (kind, row_id, version, digest) in enumerate(items):
        seq = start_seq + offset
        mac = link_mac(key, chain=chain, seq=seq, prev_mac=prev_mac, kind=kind, row_id=row_id, version=version,
                       digest=digest, at=at)
        out.append({"chain": chain, "seq": seq, "kind": kind, "row_id": row_id, "version": version,
                    "digest": digest, "mac": mac, "at": at})
        prev_mac = mac
    return out
