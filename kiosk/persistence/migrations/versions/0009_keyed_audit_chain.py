"""The keyed audit chain: per-kiosk chains of HMAC-SHA256 links over audit rows, journal entries with their lines,
card operations and receipts; the old plain SHA-256 chain is verified once and sealed into it.

A database that already holds rows needs the estate's audit key (secrets.toml `audit_key`): the kiosk and
`kiosk db upgrade` pass it (kiosk.persistence.schema.upgrade(..., audit_key=...)). The upgrade then
1. recomputes the old chain of audit rows (`prev_hash`/`hash`) and compares it with `audit_head`: a break is
   logged, and `kiosk audit verify` keeps naming the broken row afterwards, as it did before;
2. writes the chain "upgrade@0009": its first link (kind "seal") carries the old head hash, then one link per
   existing audit row, journal entry (with its lines), card operation and receipt, so the first verify passes;
3. drops `audit_head`: nothing locks one row for every payment any more.
Downgrade drops the chain (rows written since lose their protection) and puts `audit_head` back at the sealed hash.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import context, op

from kiosk.errors import ConfigError
from kiosk.persistence import chain_digest as cd
from kiosk.persistence.models.base import UtcDateTime, utcnow

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)
CHAIN = "upgrade@0009"
PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
BATCH = 1000

_T = {"id": PK, "number": sa.Integer, "reprint_count": sa.Integer, "old_counter": sa.Integer,
      "new_counter": sa.Integer, "voided": sa.Boolean}
_DATES = {"created_at", "resolved_at", "issued_at", "voided_at", "at"}


def _table(name: str, columns: tuple[str, ...]) -> sa.TableClause:
    def col_type(c: str) -> Any:
        if c in _DATES:
            return UtcDateTime()
        if c in _T:
            return _T[c]
        if c.endswith("_id") or c.endswith("_fen"):
            return PK
        return sa.Text
    return sa.table(name, *[sa.column(c, col_type(c)) for c in columns])


def upgrade() -> None:
    op.create_table(
        "chain_heads",
        sa.Column("chain", sa.String(length=40), nullable=False),
        sa.Column("seq", SEQ, nullable=False),
        sa.Column("last_mac", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chain", name=op.f("pk_chain_heads")),
    )
    op.create_table(
        "chain_links",
        sa.Column("chain", sa.String(length=40), nullable=False),
        sa.Column("seq", SEQ, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("row_id", PK, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chain_links")),
        sa.UniqueConstraint("chain", "seq", name=op.f("uq_chain_links_chain_seq")),
        sa.UniqueConstraint("kind", "row_id", "version", name=op.f("uq_chain_links_kind_row_id_version")),
    )
    op.create_index("ix_chain_links_chain_at", "chain_links", ["chain", "at"], unique=False)
    dialect = op.get_bind().dialect.name
    for action in ("UPDATE", "DELETE"):  # append-only, like the ledger (migration 0002)
        name = f"trg_chain_links_no_{action.lower()}"
        if dialect == "postgresql":
            op.execute(f"CREATE TRIGGER {name} BEFORE {action} ON chain_links "
                       f"FOR EACH ROW EXECUTE FUNCTION kiosk_refuse_change()")
        else:
            op.execute(f"CREATE TRIGGER {name} BEFORE {action} ON chain_links "
                       f"BEGIN SELECT RAISE(ABORT, 'append-only table chain_links: {action} refused'); END")
    _seal_existing_rows(op.get_bind())
    op.drop_table("audit_head")


def _seal_existing_rows(conn: sa.Connection) -> None:
    audit = _table("audit_log", ("id", "at", "actor", "action", "subject", "details", "prev_hash", "hash"))
    protected = ("audit_log", "journal_entries", "card_operations", "receipts")
    if not any(conn.execute(sa.select(sa.literal(1)).select_from(sa.table(t)).limit(1)).first() for t in protected):
        return  # a new database: every kiosk starts its own chain with its first write
    key = context.config.attributes.get("audit_key")
    if not isinstance(key, bytes):
        raise ConfigError(key="secrets.toml: 'audit_key' is needed to upgrade: migration 0009 seals the existing "
                              "records with the estate's audit key (run `kiosk db upgrade` or start the kiosk with the "
                              "data directory whose secrets.toml holds it)")
    old_head = conn.execute(sa.text("SELECT last_hash, last_entry_id FROM audit_head WHERE id = 1")).first()
    head_hash, head_id = (old_head[0], int(old_head[1])) if old_head else (cd.GENESIS_MAC, 0)
    _verify_old_chain(conn, audit, head_hash)

    def items() -> Iterator[tuple[str, int, int, str]]:
        yield (cd.SEAL, head_id, 1, head_hash)
        for row in conn.execute(sa.select(audit).order_by(audit.c.id)):
            yield (cd.AUDIT, row.id, 1, cd.row_digest(cd.AUDIT, row._mapping))
        yield from _entries(conn)
        for kind in (cd.CARD_OPERATION, cd.RECEIPT):
            table = _table(cd.TABLES[kind], cd.FIELDS[kind])
            for row in conn.execute(sa.select(table).order_by(table.c.id)):
                yield (kind, row.id, 1, cd.row_digest(kind, row._mapping))

    links = sa.table("chain_links", *[sa.column(c) for c in ("chain", "seq", "kind", "row_id", "version", "digest")],
                     sa.column("mac"), sa.column("at", UtcDateTime()))
    at = utcnow()
    seq, mac, batch = 0, cd.GENESIS_MAC, []
    for item in items():
        row = dict(zip(cd.LINK_COLUMNS, cd.link_rows(key, CHAIN, seq + 1, mac, [item], at)[0]))
        seq, mac = row["seq"], row["mac"]
        batch.append(row)
        if len(batch) >= BATCH:
            conn.execute(links.insert(), batch)
            batch = []
    if batch:
        conn.execute(links.insert(), batch)
    heads = sa.table("chain_heads", sa.column("chain"), sa.column("seq"), sa.column("last_mac"), sa.column("key_id"),
                     sa.column("started_at", UtcDateTime()), sa.column("updated_at", UtcDateTime()))
    conn.execute(heads.insert().values(chain=CHAIN, seq=seq, last_mac=mac, key_id=cd.key_id(key), started_at=at,
                                       updated_at=at))
    log.warning("audit chain sealed: %d links in chain %s, old head %s", seq, CHAIN, head_hash[:16])


def _verify_old_chain(conn: sa.Connection, audit: sa.TableClause, head_hash: str) -> None:
    prev = cd.GENESIS_MAC
    for row in conn.execute(sa.select(audit).order_by(audit.c.id)):
        if not (row.prev_hash or row.hash):
            continue
        expected = cd.legacy_digest(prev, row.at, row.actor, row.action, row.subject, row.details)
        if row.prev_hash != prev or row.hash != expected:
            log.error("the old audit chain is broken at entry %s; sealed as found: `kiosk audit verify` names it",
                      row.id)
            return
        prev = row.hash
    if prev != head_hash:
        log.error("the old audit chain ends at %s but audit_head says %s; sealed as found", prev[:16], head_hash[:16])


def _entries(conn: sa.Connection) -> Iterator[tuple[str, int, int, str]]:
    entries = _table("journal_entries", cd.FIELDS[cd.JOURNAL_ENTRY])
    lines = _table("journal_lines", cd.LINE_FIELDS)
    query = (sa.select(entries, lines.c.id.label("line_id"), lines.c.entry_id, lines.c.account_id, lines.c.amount_fen)
             .select_from(entries.outerjoin(lines, lines.c.entry_id == entries.c.id))
             .order_by(entries.c.id, lines.c.id))
    current: dict[str, Any] | None = None
    current_lines: list[dict[str, Any]] = []
    for row in conn.execute(query):
        m = row._mapping
        if current is None or m["id"] != current["id"]:
            if current is not None:
                yield (cd.JOURNAL_ENTRY, current["id"], 1, cd.entry_digest(current, current_lines))
            current = {name: m[name] for name in cd.FIELDS[cd.JOURNAL_ENTRY]}
            current_lines = []
        if m["line_id"] is not None:
            current_lines.append({"id": m["line_id"], "entry_id": m["entry_id"], "account_id": m["account_id"],
                                  "amount_fen": m["amount_fen"]})
    if current is not None:
        yield (cd.JOURNAL_ENTRY, current["id"], 1, cd.entry_digest(current, current_lines))


def downgrade() -> None:
    conn = op.get_bind()
    seal = conn.execute(sa.text("SELECT row_id, digest FROM chain_links WHERE kind = 'seal' ORDER BY id LIMIT 1")).first()
    legacy = conn.execute(sa.text("SELECT id, hash FROM audit_log WHERE hash <> '' ORDER BY id DESC LIMIT 1")).first()
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("last_entry_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    last = (seal[1], int(seal[0])) if seal else ((legacy[1], int(legacy[0])) if legacy else None)
    if last is not None:
        conn.execute(sa.text("INSERT INTO audit_head (id, last_hash, last_entry_id) VALUES (1, :h, :i)"),
                     {"h": last[0], "i": last[1]})
    dialect = conn.dialect.name
    for action in ("UPDATE", "DELETE"):
        name = f"trg_chain_links_no_{action.lower()}"
        op.execute(f"DROP TRIGGER {name} ON chain_links" if dialect == "postgresql" else f"DROP TRIGGER {name}")
    op.drop_index("ix_chain_links_chain_at", table_name="chain_links")
    op.drop_table("chain_links")
    op.drop_table("chain_heads")
