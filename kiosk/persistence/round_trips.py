"""Counting what a use case asks of the database: statements, transactions and connection checks, per engine.

On PostgreSQL each of these is one round trip over the network (a kiosk waits for the answer before it goes
on), so their sum is what a LAN's latency multiplies:
- statements: every execute and executemany the engine's connections send, SAVEPOINTs included (counted apart
  too, as `savepoints`); a statement that rides with the next one or the COMMIT (kiosk.persistence.with_commit)
  is their round trip, not one of its own (an executemany carries none: they go ahead of it, one round trip);
- begins: the kiosk's engine sends BEGIN with the transaction's first statement (kiosk.persistence.db: no round
  trip); an engine made otherwise gets psycopg's BEGIN, sent before the transaction's first statement, counted;
- commits and rollbacks that reach the server (one of a connection that has no transaction open is free:
  psycopg sends nothing);
- pings: `pool_pre_ping` checks every pooled connection it hands out with a statement of its own (the kiosk's
  engines have none: the pool finds a connection the server closed without asking it, kiosk.persistence.db);
- connects: a new connection (several round trips of its own: startup and authentication).

SQLite has no network: there the same counts say how many calls the use case makes into the library.

    with counting(engine) as count:
        payments.pay_bills(factory, ...)
    count.round_trips  # begins + statements + commits + rollbacks + pings (new connections apart)
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Engine, event

_FRESH = "kiosk.round_trips.fresh"


@dataclass
class RoundTrips:
    statements: int = 0
    savepoints: int = 0  # SAVEPOINT, RELEASE and ROLLBACK TO statements (in `statements` too)
    begins: int = 0
    commits: int = 0
    rollbacks: int = 0
    pings: int = 0
    connects: int = 0

    @property
    def round_trips(self) -> int:
        return self.begins + self.statements + self.commits + self.rollbacks + self.pings

    def __sub__(self, other: RoundTrips) -> RoundTrips:
        return RoundTrips(**{f.name: getattr(self, f.name) - getattr(other, f.name) for f in fields(self)})

    def copy(self) -> RoundTrips:
        return RoundTrips(**{f.name: getattr(self, f.name) for f in fields(self)})

    def line(self) -> str:
        return (f"{self.round_trips} round trips: {self.begins} begin, {self.statements} statements "
                f"({self.savepoints} savepoint), {self.commits} commit, {self.rollbacks} rollback, {self.pings} ping"
                + (f"; {self.connects} new connections" if self.connects else ""))


class Counter:
    """Listens on one engine for as long as it is attached; `total` adds up everything seen."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.total = RoundTrips()
        self._networked = engine.dialect.name != "sqlite"
        self._pre_ping = bool(getattr(engine.pool, "_pre_ping", False))
        self._listeners: list[tuple[Any, str, Any]] = []

    def attach(self) -> Counter:
        self._listen(self.engine, "before_cursor_execute", self._statement)
        self._listen(self.engine, "begin", self._begin)
        self._listen(self.engine, "commit", self._commit)
        self._listen(self.engine, "rollback", self._rollback)
        self._listen(self.engine.pool, "connect", self._connect)
        self._listen(self.engine.pool, "checkout", self._checkout)
        return self

    def detach(self) -> None:
        for target, name, fn in self._listeners:
            event.remove(target, name, fn)
        self._listeners.clear()

    def _listen(self, target: Any, name: str, fn: Any) -> None:
        event.listen(target, name, fn)
        self._listeners.append((target, name, fn))

    def _statement(self, conn: Any, _cursor: Any, statement: str, _parameters: Any, context: Any,
                   executemany: bool = False) -> None:
        if self._networked and _kept_for_commit(conn, context):
            return  # rides with the next statement or the COMMIT (kiosk.persistence.with_commit): their round trip
        if self._networked and executemany and _keeps(conn):
            self.total.statements += 1  # an executemany cannot carry kept statements: they go ahead on their own
        if statement.strip().upper() == "BEGIN":
            self.total.begins += 1
            return
        self.total.statements += 1
        head = statement.lstrip()[:20].upper()
        if head.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO")):
            self.total.savepoints += 1

    def _begin(self, conn: Any) -> None:
        if self._networked and not self._autocommit(conn):
            self.total.begins += 1

    def _commit(self, conn: Any) -> None:
        if self._in_transaction(conn):
            self.total.commits += 1

    def _autocommit(self, conn: Any) -> bool:
        """A connection in autocommit (the kiosk's, which sends BEGIN as a statement; a key claim's) gets no BEGIN
        from psycopg."""
        try:
            return bool(getattr(conn.connection.dbapi_connection, "autocommit", False)) and self._networked
        except Exception:  # noqa: BLE001 - a closed connection
            return False

    def _rollback(self, conn: Any) -> None:
        if self._in_transaction(conn):
            self.total.rollbacks += 1

    def _connect(self, _dbapi: Any, record: Any) -> None:
        self.total.connects += 1
        record.info[_FRESH] = True

    def _checkout(self, _dbapi: Any, record: Any, _proxy: Any) -> None:
        if record.info.pop(_FRESH, False):
            return  # a new connection is not pinged
        if self._pre_ping:
            self.total.pings += 1

    def _in_transaction(self, conn: Any) -> bool:
        if not self._networked:
            return True
        try:
            dbapi = conn.connection.dbapi_connection
            info = getattr(dbapi, "info", None)
            status = getattr(info, "transaction_status", None)
            if status is not None and int(status) == 0 and _carries(conn):
                return True  # BEGIN and the transaction's writes ride with the COMMIT
            return status is None or int(status) != 0  # 0: IDLE, nothing to roll back, nothing sent
        except Exception:  # noqa: BLE001 - a closed connection: count it, it was asked
            return True


def _kept_for_commit(conn: Any, context: Any) -> bool:
    from kiosk.persistence.with_commit import CommitCarryingConnection, kept_for_commit

    try:
        return kept_for_commit(context) and isinstance(conn.connection.dbapi_connection, CommitCarryingConnection)
    except Exception:  # noqa: BLE001 - a closed connection
        return False


def _carries(conn: Any) -> bool:
    """The connection keeps statements that its next message will carry (kiosk.persistence.with_commit)."""
    try:
        carries = getattr(conn.connection.dbapi_connection, "carries", None)
        return bool(carries is not None and carries())
    except Exception:  # noqa: BLE001 - a closed connection
        return False


def _keeps(conn: Any) -> bool:
    try:
        return bool(getattr(conn.connection.dbapi_connection, "_riders", None))
    except Exception:  # noqa: BLE001 - a closed connection
        return False


@contextmanager
def counting(engine: Engine) -> Iterator[RoundTrips]:
    """What the block asked of `engine` (on every thread): the RoundTrips, filled in when the block ends."""
    counter = Counter(engine).attach()
    out = RoundTrips()
    try:
        yield out
    finally:
        counter.detach()
        for f in fields(out):
            setattr(out, f.name, getattr(counter.total, f.name))
