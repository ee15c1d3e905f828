"""Row ids taken from the sequences ahead of time, on PostgreSQL: an INSERT whose row already has its id needs no
answer, so it rides with the transaction's next statement or its COMMIT (kiosk.persistence.with_commit).

The rows a payment writes most (its audit rows, journal entries and lines, card operations, items, banknote events)
are given their ids before the ORM flushes them, from a few ids per table that the engine took from the table's own
sequence in one query (`nextval`, the same numbers the database would have given). The audit chain needs a row's id
to link it (kiosk.persistence.chain), so without this every such INSERT was a round trip of its own, waiting for
its RETURNING id. What changes: ids are no longer in commit order across kiosks or threads (they never were across
kiosks; nothing orders by them across a table: the chain has its own sequence, receipts their own numbers); a
rolled-back transaction leaves its ids unused, as a sequence always does. SQLite (no network) is unchanged.
"""
from __future__ import annotations

import threading
from collections import deque
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

TABLES = ("audit_log", "journal_entries", "journal_lines", "card_operations", "payment_items", "cash_events")
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


def rides(context: Any) -> bool:
    """An INSERT into one of TABLES that returns nothing: its rows have their ids, nobody reads its answer."""
    compiled = getattr(context, "compiled", None)
    if compiled is None or not getattr(context, "isinsert", False) or compiled.effective_returning:
        return False
    table = getattr(compiled.statement, "table", None)
    return getattr(table, "name", None) in TABLES


@event.listens_for(Session, "before_flush")
def _give_ids(session: Session, _flush_context: Any, _instances: Any) -> None:
    if not session.new:
        return
    bind = session.get_bind()
    reservoir = _reservoirs.get(getattr(bind, "engine", bind))
    if reservoir is None:
        return
    for obj in session.new:
        table = getattr(type(obj), "__tablename__", None)
        if table in TABLES and getattr(obj, "id", 0) is None:
            obj.id = reservoir.take(session, table)
