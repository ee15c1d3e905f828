"""Writing the keyed audit chain: every protected row a transaction inserts or changes gets a link at commit.

What is protected: journal entries (with their lines), card operations, receipts and audit rows
(kiosk.persistence.chain_digest). A session factory is bound to the estate's audit key and to this kiosk's
chain (`make_session_factory(engine, chain=ChainBinding(key, kiosk_code))`). While the transaction runs,
`after_flush` notes which protected rows were written; at commit, `before_commit` locks this kiosk's head
row only, computes one link per row (digest of the row as written, MAC over the previous link) and inserts
them in one statement: one extra round trip per commit that wrote protected rows on PostgreSQL (lock the head;
inserting the links and moving the head is one statement, sent in the same message as the COMMIT:
kiosk.persistence.with_commit), two on SQLite, none for the others. Kiosks never wait on each other's
chain. A transaction may lock its head earlier (`lock_head_now`: receipts.issue does, before it takes the site's
receipt number, so that only its links and the COMMIT come after the number).

A row changed by a later transaction (a card write resolved, a receipt reprinted or voided) gets a new link
with the next version; before that, its state as loaded is checked against its latest link, so a row edited
behind the kiosk's back is refused rather than blessed by the next legitimate change.

The head kept in memory (PostgreSQL, `keep_head_in_memory(engine, chain)`: the app, once it holds its kiosk
code's lease): the only writer of a chain need not read its head before every commit. The head read by a
transaction (locked, or with the receipt number) or moved by its COMMIT is kept per (engine, chain) and the next
transaction computes its links from it, with no round trip; transactions of the process are serialised from
computing their links (or reading the head) to the end of their COMMIT by a lock per chain. The statement that
writes the links moves the head only from the seq and MAC they were computed from and takes the links' seqs from
that move: if the head is elsewhere (another writer appended; a database behind the process), the links are
refused (chain_links (chain, seq) is unique, its seq NOT NULL) and the whole transaction fails at its COMMIT
(ChainHeadMoved, E7020); the kept head is dropped and the next transaction reads it again. Every other writer of a kiosk's data (the CLI,
kiosk.cli.common) writes a chain of its own, so this never meets a resident in normal operation.
"""
from __future__ import annotations

import functools
import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, String, bindparam, event, func, insert, inspect, select, update
from sqlalchemy.orm import Session

from kiosk.errors import AuditKeyMismatch, ChainHeadMoved, ChainNotBound, RowAltered, RowNotLinked
from kiosk.persistence import chain_digest as cd
from kiosk.persistence.bulk import collector_paused, insert_rows
from kiosk.persistence.models import AuditEntry, CardOperation, ChainHead, ChainLink, JournalEntry, JournalLine, Receipt
from kiosk.persistence.models.base import utcnow
from kiosk.persistence.commit_option import WITH_COMMIT  # not with_commit: that imports psycopg, SQLite needs none
from kiosk.persistence.kept_chain_head import (  # noqa: F401 - EarlyHead, keep_head_in_memory, kept_head, _kept: as before
    _INFO_KEPT,
    _INFO_MOVED,
    _INFO_MOVED_ROWS,
    EarlyHead,
    _kept,
    _kept_of,
    _KeptHead,
    _hold,
    _known_links,
    _let_go,
    keep_head_in_memory,
    kept_head,
)

INFO_BINDING = "kiosk.chain.binding"
_INFO_PENDING = "kiosk.chain.pending"
_INFO_HEAD = "kiosk.chain.head"  # this chain's head row, locked early in the transaction (lock_head_now)
KEPT_ROW_KINDS = frozenset({cd.CARD_OPERATION, cd.RECEIPT})  # the rows a later transaction changes
KIND_OF_MODEL: dict[type, str] = {JournalEntry: cd.JOURNAL_ENTRY, CardOperation: cd.CARD_OPERATION,
                                  Receipt: cd.RECEIPT, AuditEntry: cd.AUDIT}
LINKS_PER_STATEMENT = 500  # 4,000 bound values, under SQLite's and PostgreSQL's limits; more go in bulk
_KIND_ORDER = {cd.AUDIT: 0, cd.JOURNAL_ENTRY: 1, cd.CARD_OPERATION: 2, cd.RECEIPT: 3}


@dataclass(frozen=True)
class ChainBinding:
    """The estate's audit key (from secrets.toml) and the chain this process appends to (its kiosk code)."""

    key: bytes
    chain: str

    def __post_init__(self) -> None:
        if len(self.key) < 16:
            raise ValueError("the audit key must be at least 16 bytes")
        if not self.chain or len(self.chain) > 40:
            raise ValueError(f"chain name {self.chain!r} must be 1-40 characters")

    @property
    def key_id(self) -> str:
        return cd.key_id(self.key)

    def __repr__(self) -> str:  # never print the key
        return f"ChainBinding(chain={self.chain!r}, key_id={self.key_id!r})"


@dataclass
class _Touched:
    obj: Any
    new: bool
    before: str | None = None  # digest of the row as loaded (changed rows only; None when unknown)


@dataclass
class _Pending:
    rows: dict[tuple[str, int], _Touched] = field(default_factory=dict)
    lines: dict[int, list[Any]] = field(default_factory=dict)  # entry id -> JournalLine objects written now
    bulk: list[tuple[str, int, int, str]] = field(default_factory=list)  # (kind, id, version 1, digest) by id


def binding_of(session: Session) -> ChainBinding | None:
    return session.info.get(INFO_BINDING)


def binding_of_factory(factory: Any) -> ChainBinding | None:
    """The binding of a session factory (make_session_factory's `chain`)."""
    return factory.kw.get("info", {}).get(INFO_BINDING)


def writer_binding(binding: ChainBinding, writer: str) -> ChainBinding:
    """The same key, the chain of another writer of this kiosk's data (`K01.cli`): it never appends to the
    kiosk's own chain, whose head the running app keeps in memory."""
    suffix = f".{writer}"
    return ChainBinding(binding.key, binding.chain[:40 - len(suffix)] + suffix)


def _pending(session: Session) -> _Pending:
    found = session.info.get(_INFO_PENDING)
    if found is None:
        found = session.info[_INFO_PENDING] = _Pending()
    return found


def _before_state_digest(kind: str, obj: Any) -> str | None:
    """The row's digest as it was loaded, from the ORM's attribute history (None if an old value is unknown)."""
    state = inspect(obj)
    values: dict[str, Any] = {}
    for name in cd.FIELDS[kind]:
        history = state.attrs[name].history
        if history.deleted:
            values[name] = history.deleted[0]
        elif history.added:  # changed without the old value ever loaded
            return None
        else:
            values[name] = getattr(obj, name)
    return cd.row_digest(kind, values)


@event.listens_for(Session, "after_flush")
def _note_written_rows(session: Session, _flush_context: Any) -> None:
    pending: _Pending | None = None
    for obj in session.new:
        kind = KIND_OF_MODEL.get(type(obj))
        if kind is not None:
            pending = pending or _pending(session)
            pending.rows[(kind, obj.id)] = _Touched(obj, True)
        elif isinstance(obj, JournalLine):
            pending = pending or _pending(session)
            pending.lines.setdefault(obj.entry_id, []).append(obj)
            pending.rows.setdefault((cd.JOURNAL_ENTRY, obj.entry_id), _Touched(None, False))
    for obj in session.dirty:
        kind = KIND_OF_MODEL.get(type(obj))
        if kind is None or not session.is_modified(obj, include_collections=False):
            continue
        pending = pending or _pending(session)
        key = (kind, obj.id)
        known = pending.rows.get(key)
        if known is None:
            pending.rows[key] = _Touched(obj, False, _before_state_digest(kind, obj))
        elif known.obj is None:
            known.obj = obj


def note_bulk_entries(session: Session, created_at: datetime, kind: str, kiosk_id: int | None,
                      entries: Iterable[tuple[int, str, Sequence[tuple[int, int, int]]]]) -> None:
    """Journal entries written with bulk statements (kiosk.services.ledger.post_many, a bill import), which the
    ORM does not see: each (entry id, memo as stored, its lines (line id, account id, fen) in id order) is
    linked at commit like any other new row; its digest is taken now, from the values written."""
    pending = _pending(session)
    pending.bulk.extend((cd.JOURNAL_ENTRY, int(entry_id), 1, digest)
                        for entry_id, digest in cd.bulk_entry_digests(created_at, kind, kiosk_id, entries))


def note_written(session: Session, obj: Any) -> None:
    """A protected row written with a statement of its own (not flushed by the ORM), then made persistent in the
    session as written (receipts.issue on PostgreSQL): linked at commit like a row the ORM inserted."""
    kind = KIND_OF_MODEL[type(obj)]
    _pending(session).rows[(kind, obj.id)] = _Touched(obj, True)


def lock_head_now(session: Session) -> None:
    """Lock this kiosk's head row now rather than at commit (no other kiosk ever waits on it), so that what a
    transaction does last - take the site's receipt number - is followed only by its links and the COMMIT."""
    binding = binding_of(session)
    if binding is None or _INFO_HEAD in session.info:
        return
    _hold_if_kept(session, binding)
    if session.in_nested_transaction():
        return  # a lock taken in a savepoint would go with the savepoint
    row = _lock_head(session, binding, [])
    session.info[_INFO_HEAD] = EarlyHead(int(row.seq), row.last_mac, row.key_id)


def _hold_if_kept(session: Session, binding: ChainBinding) -> None:
    """A head kept in memory: take the process's lock before the head row is locked in the database, so that
    a thread holding the row lock never waits on a thread waiting for it (flushed first, for the same reason:
    no row lock is awaited while the chain's lock is held)."""
    kept = _kept_of(session, binding)
    if kept is not None and session.info.get(_INFO_KEPT) is not kept:
        session.flush()
        _hold(session, kept)


def head_to_lock_early(session: Session) -> str | None:
    """The chain whose head a statement of the caller's may lock and read now (`FOR UPDATE`, handing the row to
    `locked_early`), when the head is to be locked early and is not yet; else None."""
    binding = binding_of(session)
    if binding is None or _INFO_HEAD in session.info:
        return None
    _hold_if_kept(session, binding)
    if session.in_nested_transaction():
        return None
    return binding.chain


def locked_early(session: Session, head: EarlyHead) -> None:
    """This kiosk's head row, locked and read by a statement of the caller's (receipts.issue): as `lock_head_now`."""
    session.info[_INFO_HEAD] = head


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_INFO_PENDING, None)
    session.info.pop(_INFO_HEAD, None)


@event.listens_for(Session, "after_commit")
def _forget_head(session: Session) -> None:
    read = session.info.pop(_INFO_HEAD, None)
    if _INFO_KEPT in session.info:  # the head as this COMMIT left it: moved by its links, or as read
        kept: _KeptHead = session.info[_INFO_KEPT]
        _let_go(session, session.info.get(_INFO_MOVED) or read or kept.head)


@event.listens_for(Session, "after_transaction_end")
def _drop_kept_head(session: Session, transaction: Any) -> None:
    """A transaction that ends without its COMMIT succeeding (rolled back, its COMMIT refused or lost, closed):
    what it held is let go and the head is read again by the next one (it may or may not have moved)."""
    if transaction.parent is None and _INFO_KEPT in session.info:
        _let_go(session, None)


@event.listens_for(Session, "before_commit")
def _append_links(session: Session) -> None:
    session.flush()
    pending: _Pending | None = session.info.pop(_INFO_PENDING, None)
    if pending is None or not (pending.rows or pending.bulk):
        return
    binding = binding_of(session)
    if binding is None:
        raise ChainNotBound("audited rows written through a session factory without ChainBinding")
    if len(pending.bulk) > LINKS_PER_STATEMENT:  # a bill import's links
        with collector_paused():
            append(session, binding, pending)
    else:
        append(session, binding, pending)


def _entry_lines(session: Session, pending: _Pending, entry_ids: Iterable[int]) -> dict[int, list[Any]]:
    """Lines of each entry: the ones written now for a new entry, read back for an entry that existed."""
    out: dict[int, list[Any]] = {}
    old = []
    for entry_id in entry_ids:
        touched = pending.rows[(cd.JOURNAL_ENTRY, entry_id)]
        if touched.new:
            out[entry_id] = pending.lines.get(entry_id, [])
        else:
            old.append(entry_id)
    if old:
        for line in session.execute(select(JournalLine.id, JournalLine.entry_id, JournalLine.account_id,
                                           JournalLine.amount_fen).where(JournalLine.entry_id.in_(old))):
            out.setdefault(line.entry_id, []).append(line._mapping)
    return out


def _latest(kind: str, row_id: int) -> tuple[Any, Any]:
    """Scalar subqueries: the newest version of a row's link and its digest."""
    newest = (select(ChainLink.version, ChainLink.digest).where(ChainLink.kind == kind, ChainLink.row_id == row_id)
              .order_by(ChainLink.version.desc()).limit(1).subquery())
    return (select(newest.c.version).scalar_subquery(), select(newest.c.digest).scalar_subquery())


def _lock_head(session: Session, binding: ChainBinding, changed: list[tuple[str, int]]) -> Any:
    """This chain's head row, locked; with the newest link of every changed row in the same round trip."""
    extra = []
    for kind, row_id in changed:
        extra.extend(_latest(kind, row_id))
    query = (select(ChainHead.seq, ChainHead.last_mac, ChainHead.key_id, *extra)
             .where(ChainHead.chain == binding.chain).with_for_update(of=ChainHead))
    row = session.execute(query).one_or_none()
    if row is not None:
        return row
    # this kiosk's first link: its key must be the estate's (the key every other chain was written with)
    for chain, key_id in session.execute(select(ChainHead.chain, ChainHead.key_id).limit(50)):
        if key_id != binding.key_id:
            raise AuditKeyMismatch(f"chain {chain} uses key id {key_id}, this kiosk {binding.key_id}",
                                   chain=chain, key_id=key_id, own_key_id=binding.key_id)
    now = utcnow()
    values = dict(chain=binding.chain, seq=0, last_mac=cd.GENESIS_MAC, key_id=binding.key_id, started_at=now,
                  updated_at=now)
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    session.execute(dialect_insert(ChainHead).values(**values).on_conflict_do_nothing())
    return session.execute(query).one()


def _latest_of(session: Session, changed: list[tuple[str, int]]) -> dict[tuple[str, int], tuple[Any, Any]]:
    """The newest link's (version, digest) of each changed row, in one query."""
    if not changed:
        return {}
    row = session.execute(select(*[c for k in changed for c in _latest(*k)])).one()
    return {k: (row[2 * i], row[2 * i + 1]) for i, k in enumerate(changed)}


def _links_after_move_values(head: Any, chain: str, at: datetime, rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    """The values of `_links_after_move`'s statement: the head moved from `head` to the last of `rows`; the links."""
    by_name = [dict(zip(cd.LINK_COLUMNS, r)) for r in rows]
    last = by_name[-1]
    return {"head_chain": chain, "head_seq": int(head.seq), "head_mac": head.last_mac, "new_seq": last["seq"],
            "new_mac": last["mac"], "link_chain": chain, "link_at": at,
            "link_behind": [int(last["seq"]) - int(v["seq"]) for v in by_name],
            "link_kind": [v["kind"] for v in by_name], "link_row_id": [int(v["row_id"]) for v in by_name],
            "link_version": [int(v["version"]) for v in by_name], "link_digest": [v["digest"] for v in by_name],
            "link_mac": [v["mac"] for v in by_name]}


@functools.cache
def _links_after_move() -> Any:
    """PostgreSQL: `INSERT INTO chain_links ... SELECT ... FROM unnest(arrays)` after the head's move (a CTE), each
    link's seq taken from what the move returned (`append`), built once per process with every value bound
    (`_links_after_move_values`). The links go as arrays, so the statement is the same whatever the number of links:
    SQLAlchemy compiles it once, and builds it and its cache key once, where building it for every commit was about
    a tenth of a kiosk's CPU per payment (docs/fleet.md, "Where a kiosk's CPU goes")."""
    from sqlalchemy.dialects.postgresql import ARRAY  # the dialect only where it is PostgreSQL (a SQLite kiosk's start)

    # moved only from the head the links were computed from: a stale kept head moves nothing (see `append`)
    move_head = (update(ChainHead)
                 .where(ChainHead.chain == bindparam("head_chain"), ChainHead.seq == bindparam("head_seq"),
                        ChainHead.last_mac == bindparam("head_mac"))
                 .values(seq=bindparam("new_seq"), last_mac=bindparam("new_mac"), updated_at=bindparam("link_at")))
    moved = move_head.returning(ChainHead.seq).cte("moved")
    given = func.unnest(
        bindparam("link_behind", type_=ARRAY(BigInteger)), bindparam("link_kind", type_=ARRAY(String)),
        bindparam("link_row_id", type_=ARRAY(BigInteger)), bindparam("link_version", type_=ARRAY(Integer)),
        bindparam("link_digest", type_=ARRAY(String)), bindparam("link_mac", type_=ARRAY(String)),
    ).table_valued("behind", "kind", "row_id", "version", "digest", "mac").render_derived(name="given")
    table = ChainLink.__table__
    # a head that did not move gives a NULL seq, which chain_links refuses (NOT NULL): see `append`
    seq = select(moved.c.seq).scalar_subquery() - given.c.behind
    source = select(bindparam("link_chain", type_=table.c.chain.type), seq, given.c.kind,
                    given.c.row_id, given.c.version, given.c.digest, given.c.mac,
                    bindparam("link_at", type_=table.c.at.type))
    return (insert(table).from_select(list(cd.LINK_COLUMNS), source).add_cte(moved)
            .execution_options(**{WITH_COMMIT: True}))


def append(session: Session, binding: ChainBinding, pending: _Pending) -> None:
    keys = sorted(pending.rows, key=lambda k: (_KIND_ORDER[k[0]], k[1]))
    changed = [k for k in keys if not pending.rows[k].new]
    kept = _kept_of(session, binding)
    if kept is not None:
        _hold(session, kept)  # until this transaction's COMMIT has ended
    early = session.info.pop(_INFO_HEAD, None)
    if early is None and kept is not None:
        early = kept.head  # as this process's last COMMIT left it: no round trip (a stale one fails the COMMIT)
    head = early if early is not None else _lock_head(session, binding, changed)
    if head.key_id != binding.key_id:
        raise AuditKeyMismatch(f"chain {binding.chain} uses key id {head.key_id}, this kiosk {binding.key_id}",
                               chain=binding.chain, key_id=head.key_id, own_key_id=binding.key_id)
    if early is None:  # read with the head, in its round trip
        latest = {k: (head[3 + 2 * i], head[4 + 2 * i]) for i, k in enumerate(changed)}
    else:
        known = _known_links(kept, pending, changed)
        latest = {**known, **_latest_of(session, [k for k in changed if k not in known])}
    entry_ids = [row_id for kind, row_id in keys if kind == cd.JOURNAL_ENTRY]
    lines = _entry_lines(session, pending, entry_ids)
    items: list[tuple[str, int, int, str]] = []
    for key in keys:
        kind, row_id = key
        touched = pending.rows[key]
        obj = touched.obj if touched.obj is not None else session.get(JournalEntry, row_id)
        if obj is None or not inspect(obj).persistent:
            continue  # written and removed in this transaction (or rolled back to a savepoint)
        version = 1
        if not touched.new:
            last_version, last_digest = latest[key]
            if last_version is None:
                raise RowNotLinked(f"{cd.TABLES[kind]} {row_id} changed but has no link",
                                   table=cd.TABLES[kind], row_id=row_id)
            if touched.before is not None and touched.before != last_digest:
                raise RowAltered(f"{cd.TABLES[kind]} {row_id} differs from its link before this change",
                                 table=cd.TABLES[kind], row_id=row_id)
            version = int(last_version) + 1
        digest = cd.entry_digest(obj, lines.get(row_id, [])) if kind == cd.JOURNAL_ENTRY else cd.row_digest(kind, obj)
        items.append((kind, row_id, version, digest))
    if kept is not None:
        session.info[_INFO_MOVED_ROWS] = [item for item in items if item[0] in KEPT_ROW_KINDS]
    if pending.bulk:  # in the same order as every other row: by kind, then id
        order = lambda item: (_KIND_ORDER[item[0]], item[1])  # noqa: E731
        items = list(heapq.merge(items, sorted(pending.bulk, key=order), key=order))
    if not items:
        return
    at = utcnow()
    rows = cd.link_rows(binding.key, binding.chain, int(head.seq) + 1, head.last_mac, items, at)
    last = dict(zip(cd.LINK_COLUMNS, rows[-1]))
    if kept is not None:
        session.info[_INFO_MOVED] = EarlyHead(int(last["seq"]), last["mac"], head.key_id)
    if len(rows) <= LINKS_PER_STATEMENT and session.get_bind().dialect.name == "postgresql":
        # a kiosk's usual commit: one statement, sent with the COMMIT (kiosk.persistence.with_commit). The head
        # is moved first (its row locked before any link, as when it was locked at the start) and every link's
        # seq is taken from what the move returned: a head that did not move gives NULL seqs, which chain_links
        # refuses (NOT NULL) even where the next seq is free (a head behind the kept one: a restored database, a
        # standby that lost the last commits); a head moved by another writer refuses the first link on (chain, seq)
        session.execute(_links_after_move(), _links_after_move_values(head, binding.chain, at, rows))
        return
    # moved only from the head the links were computed from: a stale kept head moves nothing, and then its links
    # are refused (below), so the COMMIT is refused whole (ChainHeadMoved) and nothing is half-done
    move_head = (update(ChainHead)
                 .where(ChainHead.chain == binding.chain, ChainHead.seq == int(head.seq),
                        ChainHead.last_mac == head.last_mac)
                 .values(seq=last["seq"], last_mac=last["mac"], updated_at=at)
                 .execution_options(synchronize_session=False))
    if session.execute(move_head).rowcount != 1:  # a bill import's bulk links, SQLite: the head moved, or nothing
        raise ChainHeadMoved(f"chain {binding.chain}: the head is no longer at {int(head.seq)}")
    if len(rows) > LINKS_PER_STATEMENT:  # a bill import: the bulk writer (executemany / COPY)
        insert_rows(session, ChainLink.__table__, cd.LINK_COLUMNS, rows)
    else:
        session.execute(insert(ChainLink.__table__).values([dict(zip(cd.LINK_COLUMNS, r)) for r in rows]))


def check_key(session: Session) -> None:
    """At start: refuse a key other than the one the estate's chains were written with (one query)."""
    binding = binding_of(session)
    if binding is None:
        return
    for chain, key_id in session.execute(select(ChainHead.chain, ChainHead.key_id)
                                         .where(ChainHead.key_id != binding.key_id).limit(1)):
        raise AuditKeyMismatch(f"chain {chain} uses key id {key_id}, this kiosk {binding.key_id}",
                               chain=chain, key_id=key_id, own_key_id=binding.key_id)


def chain_heads_at(session: Session, until: datetime) -> list[tuple[str, int, str, datetime]]:
    """Each chain's last link before `until` (chain, seq, mac, at): what the settlement slip prints.
    One seek per chain down the (chain, at) index, so a year of links behind the day costs nothing."""
    found = []
    for chain in session.scalars(select(ChainHead.chain).order_by(ChainHead.chain)).all():
        row = session.execute(select(ChainLink.seq, ChainLink.mac, ChainLink.at)
                              .where(ChainLink.chain == chain, ChainLink.at < until)
                              .order_by(ChainLink.at.desc(), ChainLink.seq.desc()).limit(1)).first()
        if row is not None:
            found.append((chain, int(row.seq), row.mac, row.at))
    return found


