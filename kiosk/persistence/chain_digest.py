"""Canonical content of every protected row, its digest, and the link MAC: the one definition the writer
(kiosk.persistence.chain), the verifier (kiosk.services.integrity) and migration 0009 share.

A digest is SHA-256 over a JSON array of the row's fields in a fixed order (below); a journal entry's
digest includes every line of it (id, account, amount) in id order, so a balanced edit to two lines
changes it. The fields are listed by hand on purpose: a column added later is covered only once it is
added here under a new DIGEST_VERSION (tests/persistence/test_audit.py fails until then).
"""
from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timezone
from functools import lru_cache
from json.encoder import encode_basestring  # C-accelerated: json.dumps's own, with ensure_ascii off
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


@lru_cache(maxsize=4096)  # a bulk import stamps thousands of rows with one time
def _utc_text(value: datetime) -> str:
    aware = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
    return aware.astimezone(timezone.utc).isoformat(timespec="microseconds")


def canonical(value: Any) -> Any:
    """One JSON value per stored value, the same whichever backend it was read from."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, datetime):
        return _utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"no canonical form for {type(value).__name__}")


def json_text(value: Any) -> str:
    """The compact JSON text (ensure_ascii off) of canonical(value), written directly: a bill import digests
    100,000 entries and json.dumps was most of that. tests/unit/test_chain_digest.py holds it to json's output."""
    kind = type(value)
    if kind is int:
        return int.__repr__(value)
    if kind is str:
        return encode_basestring(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if isinstance(value, datetime):
        return '"' + _utc_text(value) + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return int.__repr__(int(value))
    if isinstance(value, str):
        return encode_basestring(str(value))
    if isinstance(value, date):
        return '"' + value.isoformat() + '"'
    raise TypeError(f"no canonical form for {kind.__name__}")


def _row_text(row: Any, names: tuple[str, ...]) -> str:
    if isinstance(row, Mapping):
        return "[" + ",".join([json_text(row[name]) for name in names]) + "]"
    return "[" + ",".join([json_text(getattr(row, name)) for name in names]) + "]"


def _get(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, Mapping) else getattr(row, name)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def row_values(kind: str, row: Any) -> list[Any]:
    """A mapping (a Core row's ._mapping) or an ORM object: the same list."""
    return [canonical(_get(row, name)) for name in FIELDS[kind]]


def row_digest(kind: str, row: Any) -> str:
    """SHA-256 of the JSON array [DIGEST_VERSION, kind, [the row's FIELDS]]."""
    if kind == JOURNAL_ENTRY:
        raise ValueError("a journal entry's digest needs its lines: entry_digest")
    return _sha(f'["{DIGEST_VERSION}",{encode_basestring(kind)},{_row_text(row, FIELDS[kind])}]')


def entry_digest(entry: Any, lines: Iterable[Any]) -> str:
    """SHA-256 of [DIGEST_VERSION, "journal_entry", [the entry's FIELDS], [[each line's LINE_FIELDS] by id]]."""
    ordered = sorted(lines, key=lambda line: int(_get(line, "id")))
    return entry_digest_of(_row_text(entry, FIELDS[JOURNAL_ENTRY]), [_row_text(line, LINE_FIELDS) for line in ordered])


def values_text(values: Iterable[Any]) -> str:
    """The JSON array text of values already in FIELDS / LINE_FIELDS order (bulk writers)."""
    return "[" + ",".join([json_text(v) for v in values]) + "]"


def entry_digest_of(entry_text: str, line_texts: Sequence[str]) -> str:
    """The same from the JSON texts of the entry's fields and of its lines (in id order)."""
    return _sha(f'["{DIGEST_VERSION}","{JOURNAL_ENTRY}",{entry_text},[{",".join(line_texts)}]]')


def key_id(key: bytes) -> str:
    """A fingerprint that names the key without revealing it (kiosks of one estate must show the same)."""
    return hmac.new(key, b"estate-kiosk audit key id", hashlib.sha256).hexdigest()[:16]


def link_mac(key: bytes, *, chain: str, seq: int, prev_mac: str, kind: str, row_id: int, version: int,
             digest: str, at: datetime) -> str:
    # every field but the chain's name is digits, hex or a fixed word; the name goes with its length
    message = (f"{DIGEST_VERSION}|{len(chain)}:{chain}|{int(seq)}|{prev_mac}|{kind}|{int(row_id)}|{int(version)}|"
               f"{digest}|{canonical(at)}")
    return hmac.digest(key, message.encode("utf-8"), "sha256").hex()


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


LINK_COLUMNS = ("chain", "seq", "kind", "row_id", "version", "digest", "mac", "at")


def link_rows(key: bytes, chain: str, start_seq: int, prev_mac: str,
              items: Sequence[tuple[str, int, int, str]], at: datetime) -> list[tuple[Any, ...]]:
    """Links (values in LINK_COLUMNS order) for (kind, row_id, version, digest) items appended after
    (start_seq - 1, prev_mac). The same message as link_mac, built in the loop: a bill import links 100,000."""
    out = []
    head = f"{DIGEST_VERSION}|{len(chain)}:{chain}|"
    tail = f"|{canonical(at)}"
    for seq, (kind, row_id, version, digest) in enumerate(items, start_seq):
        message = f"{head}{seq}|{prev_mac}|{kind}|{int(row_id)}|{int(version)}|{digest}{tail}"
        prev_mac = hmac.digest(key, message.encode("utf-8"), "sha256").hex()
        out.append((chain, seq, kind, row_id, version, digest, prev_mac, at))
    return out


def bulk_entry_digests(created_at: datetime, kind: str, kiosk_id: int | None,
                       entries: Iterable[tuple[int, str, Sequence[tuple[int, int, int]]]]) -> list[tuple[int, str]]:
    """Digests of journal entries written in bulk (kiosk.services.ledger.post_many): one time, kind and kiosk,
    no payment or reversal; each (entry id, memo as stored, [(line id, account id, fen) by id]). The texts are
    entry_digest's, formatted once per value kind (tests/unit/test_chain_digest.py holds them equal)."""
    head = f'["{DIGEST_VERSION}","{JOURNAL_ENTRY}",['
    middle = f',{json_text(created_at)},{json_text(kind)},'
    after_memo = f',null,{json_text(kiosk_id)},null],['
    sha = hashlib.sha256
    out = []
    for entry_id, memo, lines in entries:
        text = (f"{head}{int(entry_id)}{middle}{encode_basestring(memo)}{after_memo}"
                + ",".join([f"[{int(line_id)},{int(entry_id)},{int(account)},{int(fen)}]"
                            for line_id, account, fen in lines]) + "]]")
        out.append((entry_id, sha(text.encode("utf-8")).hexdigest()))
    return out
