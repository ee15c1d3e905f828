"""Row ids taken from the sequences ahead of time, on PostgreSQL: an INSERT whose row already has its id needs no
answer, so it rides with the transaction's next statement or its COMMIT (kiosk.persistence.with_commit).

The audit chain needs a row's id to link it (kiosk.persistence.chain), so without this every protected row's INSERT
was a round trip of its own, waiting for its RETURNING id. The rows a payment writes most get their ids before the
ORM flushes them, from their tables' own sequences (`nextval`, the numbers the database would have given): rows
nobody reads in id order across transactions (TABLES) from a batch the engine keeps; rows that are read in id order
(TRANSACTION_TABLES) from a few taken in their transaction's first message. A rolled-back transaction leaves its
ids unused, as a sequence always does. SQLite (no network) is unchanged.
"""
from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

# Only tables whose ids nobody reads as an order across transactions: a journal entry's lines and a payment's items
# are written with their parent, in one transaction; audit rows are read in id order only per kiosk (its staff
# unlock rows: one writer, whose restart takes ids above every id taken before, the sequence being monotonic).
# Not journal entries, card operations or banknote events: a household's history, a card's newest operation and a
# kiosk's newest banknote event are found by id order, and two kiosks' batches taken at different times would
# interleave their ids out of time order.
TABLES = ("audit_log", "journal_lines", "payment_items")
# Tables whose ids are read as an order across transactions (a household's history by entry id, a card's newest
# operation, a kiosk's newest banknote event, payments listed newest first): their ids are taken in each
# transaction's first message (kiosk.persistence.with_commit), so an id is still given when its transaction starts,
# as close to time order as the database's own sequence is; PER_TRANSACTION of each, what the transaction does not
# use is left unused. A payment's intent takes its id there (kiosk.services.intents.record_intent).
TRANSACTION_TABLES = ("journal_entries", "card_operations", "cash_events", "payments")
PER_TRANSACTION = 2
# Tables whose rows an attempt may ask ids ahead for (`ids_ahead`): a card replacement's new card and its account;
# a top-up settlement's journal entries, taken with its preparation's first message (the card's write in between,
# about a second: the entries' order by id stays the order of their transactions' starts to within it). An INSERT
# into them rides only when it has its id (an ORM INSERT without one returns it, and is sent at once).
ATTEMPT_TABLES = ("cards", "accounts", "journal_entries")
_RIDING_TABLES = frozenset(TABLES + TRANSACTION_TABLES + ATTEMPT_TABLES)
PER_QUERY = 64  # ids per table per refill: one round trip per about this many payments


class IdReservoir:
    """Ids of TABLES taken ahead from their sequences, shared by every session of one engine."""

    def __init__(self) -> None:
        self._ids: dict[str, deque[int]] = {table: deque() for table in TABLES}
        self._lock = threading.Lock()

    def take(self, session: Session, table: str) -> int:
        with self._lock:
            if not self._ids[table]:
                self._refill(session)
            return self._ids[table].popleft()

    def _refill(self, session: Session) -> None:
        """Every table running low gets PER_QUERY more, in one query."""
        low = [t for t in TABLES if len(self._ids[t]) < PER_QUERY // 2]
        parts = [f"SELECT '{t}' AS t, nextval(pg_get_serial_sequence('{t}', 'id')) AS id "
                 f"FROM generate_series(1, {PER_QUERY})" for t in low]
        for table, row_id in session.execute(text(" UNION ALL ".join(parts))):
            self._ids[table].append(int(row_id))
        for table in low:
            self._ids[table] = deque(sorted(self._ids[table]))


_reservoirs: WeakKeyDictionary[Engine, IdReservoir] = WeakKeyDictionary()


def install(engine: Engine) -> None:
    """Rows of TABLES that sessions of `engine` add get their ids before the flush; several of one table go as
    one INSERT (SQLAlchemy's insertmanyvalues), which rides like a single one."""
    _reservoirs[engine] = IdReservoir()
    engine.dialect.use_insertmanyvalues_wo_returning = True


# The query a transaction's first message takes its TRANSACTION_TABLES ids with (kiosk.persistence.with_commit);
# tables not there yet (before the migrations) give none.
def _ids_sql(counts: Sequence[tuple[str, int]], attempt: Sequence[tuple[str, int]] = ()) -> str:
    """One query taking `n` ids from each table's own sequence, for every (table, n) of the transaction's `counts`
    and of the `attempt`'s: rows (table, id, whether the attempt asked for it)."""
    values = ", ".join([f"('{t}', {int(n)}, false)" for t, n in counts]
                       + [f"('{t}', {int(n)}, true)" for t, n in attempt])
    return ("SELECT t, id, a FROM (SELECT t, a, nextval(pg_get_serial_sequence(t, 'id')) AS id FROM (VALUES "
            f"{values}) AS v(t, n, a), generate_series(1, n) WHERE to_regclass(t) IS NOT NULL) AS ahead "
            "WHERE id IS NOT NULL")


_PER_TRANSACTION = [(t, PER_TRANSACTION) for t in TRANSACTION_TABLES]
IDS_AHEAD_SQL = _ids_sql(_PER_TRANSACTION)


@dataclass
class IdsAhead:
    """Ids an attempt asked for (`ids_ahead`): taken with its next transaction's first message, kept for the
    transaction that writes the rows (a later one: ids are given by sequences, whatever the transaction)."""

    wanted: dict[str, int]
    got: dict[str, list[int]] = field(default_factory=dict)
    asked: bool = False

    def take(self, table: str) -> int | None:
        """One id of `table`, or None (SQLite, or not taken): the row's INSERT then returns the id it is given."""
        ids = self.got.get(table)
        return ids.pop(0) if ids else None


_attempt_ids: ContextVar[IdsAhead | None] = ContextVar("kiosk_ids_ahead", default=None)


@contextmanager
def ids_ahead(**wanted: int) -> Iterator[IdsAhead]:
    """Ids of ATTEMPT_TABLES (`cards=1, accounts=1`) for rows a later transaction of this attempt (this context)
    writes, taken in the first message of the next transaction that starts: on PostgreSQL no round trip of their
    own, and the rows' INSERTs, not waiting for an id, ride with the next statement. Unused ids are left unused."""
    unknown = set(wanted) - set(ATTEMPT_TABLES)
    if unknown:
        raise ValueError(f"ids ahead only for {ATTEMPT_TABLES}, not {sorted(unknown)}")
    ahead = IdsAhead(dict(wanted))
    token = _attempt_ids.set(ahead)
    try:
        yield ahead
    finally:
        _attempt_ids.reset(token)


def ids_ahead_sql() -> tuple[str, IdsAhead | None]:
    """The query a transaction's first message takes its ids with: TRANSACTION_TABLES', and once per `ids_ahead`
    the ids it asked for; with the IdsAhead they go to (None: none asked)."""
    ahead = _attempt_ids.get()
    if ahead is None or ahead.asked:
        return IDS_AHEAD_SQL, None
    ahead.asked = True
    return _ids_sql(_PER_TRANSACTION, list(ahead.wanted.items())), ahead


def rides(context: Any) -> bool:
    """An INSERT into one of TABLES that returns nothing: its rows have their ids, nobody reads its answer."""
    compiled = getattr(context, "compiled", None)
    if compiled is None or not getattr(context, "isinsert", False) or compiled.effective_returning:
        return False
    table = getattr(compiled.statement, "table", None)
    return getattr(table, "name", None) in _RIDING_TABLES


@event.listens_for(Session, "before_flush")
def _give_ids(session: Session, _flush_context: Any, _instances: Any) -> None:
    if not session.new:
        return
    bind = session.get_bind()
    reservoir = _reservoirs.get(getattr(bind, "engine", bind))
    if reservoir is None:
        return
    own: dict[str, list[int]] | None = None
    handed = session.info.get(_INFO_HANDED, {})
    for obj in session.new:
        table = getattr(type(obj), "__tablename__", None)
        if getattr(obj, "id", 0) is not None:
            continue
        if table in TABLES:
            obj.id = reservoir.take(session, table)
        elif handed.get(table):
            obj.id = handed[table].pop(0)
        elif table in TRANSACTION_TABLES:
            if own is None:
                own = _transaction_ids(session)
            if own.get(table):  # else the INSERT returns the id the database gives it, as before
                obj.id = own[table].pop(0)


_INFO_HANDED = "kiosk.id_reservoir.handed"  # table -> ids an attempt took ahead for this transaction's rows


def hand_over(session: Session, ahead: IdsAhead, table: str) -> None:
    """The ids of `table` that `ahead` took go to the rows of it that this transaction of the session adds next,
    before any of the transaction's own: their INSERTs ride, though the transaction has sent nothing yet."""
    ids = ahead.got.pop(table, [])
    if ids:
        session.info.setdefault(_INFO_HANDED, {}).setdefault(table, []).extend(ids)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _forget_handed(session: Session, *_args: object) -> None:
    session.info.pop(_INFO_HANDED, None)


def take_transaction_id(session: Session, table: str) -> int | None:
    """One of the ids of `table` (one of TRANSACTION_TABLES) that the session's transaction took in its first
    message, or None (SQLite, another engine, or none left): the caller then lets the database give the id."""
    own = _transaction_ids(session).get(table)
    return own.pop(0) if own else None


def _transaction_ids(session: Session) -> dict[str, list[int]]:
    """The ids the session's transaction took in its first message (none before it sent one)."""
    try:
        dbapi = session.connection().connection.dbapi_connection
    except Exception:  # noqa: BLE001 - no connection to ask: the INSERTs return their ids
        return {}
    return getattr(dbapi, "transaction_ids", None) or {}
