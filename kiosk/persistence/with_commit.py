"""Statements that ride with the next one: a transaction's writes whose answer nobody reads cost no round trip
of their own on PostgreSQL.

A statement executed with the execution option `RIDES` (alias `WITH_COMMIT`; `commit_option.riding()`) is not sent
when SQLAlchemy executes it but kept on the connection; the transaction's next statement, or its COMMIT, takes every
kept statement along in the same message (one simple query; psycopg quotes the parameters on the kiosk, as the
server would bind them). The kiosk's own BEGIN rides the same way (kiosk.persistence.db), so a transaction's first
statement is its first round trip. What does not change:
- each statement is compiled, its parameters processed and its execution seen by the engine's listeners (logging,
  kiosk.persistence.round_trips, the crash harness) exactly like any other;
- a riding UPDATE that must touch a known number of rows (`riding(rows, error)`) is checked by the server, in the
  same message: a different count raises an error there, which aborts the rest of the message (a COMMIT in it is
  not run) and comes back as `error()`;
- PostgreSQL runs the statements of one message in order and stops at the first error: the transaction is then
  aborted, the unit of work rolls back whole and says why (RecordConflict for a constraint), as for any failed
  statement; nothing after the failed statement ran;
- commit() is still the one DBAPI call that commits (the crash harness's kill points before and after it); a
  rollback drops kept statements unsent, so none ever reaches a later transaction on the same pooled connection;
- a statement whose answer is read (a SELECT, an INSERT ... RETURNING) is sent at once, carrying the kept ones.
An engine made otherwise (SQLite, an engine of the tests' own) runs such a statement at once, as any other.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import ClientCursor
from sqlalchemy import Engine, event

from kiosk.persistence import id_reservoir
from kiosk.persistence.commit_option import EXPECT_ROWS, RIDES, WITH_COMMIT  # noqa: F401 - re-exported

_MARK = "kiosk-expect-"  # the text of the error a riding statement's row check raises on the server


@dataclass(frozen=True)
class _Rider:
    sql: str  # the statement with its parameters quoted
    error: Callable[[], Exception] | None = None  # raised when the server's row check fails


class CommitCarryingConnection(psycopg.Connection):  # type: ignore[type-arg]
    """A psycopg connection that keeps riding statements and sends them with the next statement or the COMMIT."""

    _riders: list[_Rider] | None = None
    # a query taking ids ahead from some tables' sequences, sent in each transaction's first message; what it took is
    # the transaction's own (kiosk.persistence.id_reservoir.TRANSACTION_TABLES), left unused at its end
    ids_ahead_sql: str | None = None
    transaction_ids: dict[str, list[int]] | None = None

    def keep(self, statement: str, parameters: Mapping[str, Any] | Any | None,
             expect: tuple[int, Callable[[], Exception] | None] | None = None) -> None:
        sql = ClientCursor(self).mogrify(statement, parameters) if parameters is not None else statement
        if self._riders is None:
            self._riders = []
        error = None
        if expect is not None:
            rows, error = expect
            sql = _checked(sql, rows, len(self._riders))
        self._riders.append(_Rider(sql, error))

    def keep_check(self, condition: str, error: Callable[[], Exception]) -> None:
        """Keep a check that rides like a statement: `condition` (SQL, evaluated once, by the server, where the
        rider is sent; e.g. a lock taken) must be true, else `error()` is raised and the rest of its message is not
        run."""
        if self._riders is None:
            self._riders = []
        index = len(self._riders)
        self._riders.append(_Rider(f"SELECT CASE WHEN ({condition}) THEN 0 ELSE CAST('{_MARK}{index}-' || "
                                   f"pg_backend_pid() AS integer) END", error))

    def keep_for_commit(self, statement: str, parameters: Mapping[str, Any] | None) -> None:
        self.keep(statement, parameters)

    def carries(self) -> bool:
        """Kept statements would be sent: anything but the kiosk's lone BEGIN (a transaction that ran nothing
        sends nothing at all)."""
        return bool(self._riders) and [r.sql for r in self._riders] != ["BEGIN"]

    def take_riders(self) -> list[_Rider]:
        riders, self._riders = self._riders or [], None
        return riders

    def send_with(self, cursor: Any, statement: str, parameters: Any) -> None:
        """`statement` sent on `cursor` (SQLAlchemy's) with the kept statements ahead of it, in one message; the
        cursor is left on `statement`'s result."""
        riders = self.take_riders()
        last = ClientCursor(self).mogrify(statement, parameters) if parameters is not None else statement
        ahead = self.ids_ahead_sql if riders and riders[0].sql == "BEGIN" else None  # a transaction's first message
        texts = [r.sql for r in riders] + ([ahead] if ahead else []) + [last]
        with _row_checks(riders):
            cursor.execute(";\n".join(texts), prepare=False)
        for _rider in riders:
            cursor.nextset()
        if ahead:
            self.transaction_ids = {}
            for table, row_id in cursor.fetchall():
                self.transaction_ids.setdefault(table, []).append(int(row_id))
            cursor.nextset()

    def send_alone(self) -> None:
        """The kept statements as a message of their own (before an executemany, which cannot carry them)."""
        riders = self.take_riders()
        if riders:
            with _row_checks(riders), self.cursor() as cursor:
                cursor.execute(";\n".join(r.sql for r in riders), prepare=False)

    def commit(self) -> None:
        self.transaction_ids = None
        riders = self.take_riders()
        if not riders or [r.sql for r in riders] == ["BEGIN"]:
            super().commit()  # nothing sent since BEGIN (or a transaction psycopg began itself): as psycopg does
            return
        with _row_checks(riders), self.cursor() as cursor:
            cursor.execute(";\n".join([r.sql for r in riders] + ["COMMIT"]), prepare=False)

    def rollback(self) -> None:
        self._riders = None
        self.transaction_ids = None
        super().rollback()


def _checked(sql: str, rows: int, index: int) -> str:
    """The UPDATE or DELETE `sql` made to fail on the server unless it touches exactly `rows` rows: the check is not
    constant (it names the count), so the planner cannot fold it into an error of its own."""
    return (f"WITH checked AS ({sql} RETURNING 1) SELECT CASE WHEN count(*) = {int(rows)} THEN 0 "
            f"ELSE CAST('{_MARK}{int(index)}-' || count(*) AS integer) END FROM checked")


class _row_checks:
    """Turns a failed row check of one of `riders` into that rider's error."""

    def __init__(self, riders: list[_Rider]) -> None:
        self.riders = riders

    def __enter__(self) -> None:
        return None

    def __exit__(self, _type: Any, exc: BaseException | None, _tb: Any) -> bool:
        if not isinstance(exc, psycopg.errors.InvalidTextRepresentation) or _MARK not in str(exc):
            return False
        index = int(str(exc).split(_MARK, 1)[1].split("-", 1)[0])
        error = self.riders[index].error if index < len(self.riders) else None
        if error is None:
            return False
        raise error() from exc


def install(engine: Engine) -> None:
    """Make `engine` (PostgreSQL, psycopg) open CommitCarryingConnections, keep riding statements and send them
    with the next statement or the COMMIT."""

    engine.dialect.supports_sane_rowcount = False  # the ORM's one-row UPDATEs are counted by the server (above)

    @event.listens_for(engine, "connect")
    def _connected(dbapi_conn: Any, _record: Any) -> None:
        # the class changed once connected, not the connection made by a `do_connect` of ours: that would come
        # before (and so skip) the `do_connect` listeners of others, e.g. the runtime refusing to connect to a
        # database its health probe says is gone (kiosk.app_runtime.offline)
        if type(dbapi_conn) is psycopg.Connection:
            dbapi_conn.__class__ = CommitCarryingConnection
            dbapi_conn.ids_ahead_sql = id_reservoir.ids_ahead_sql()

    def _send(cursor: Any, statement: str, parameters: Any, context: Any) -> bool | None:
        connection = cursor.connection
        if not isinstance(connection, CommitCarryingConnection):
            return None
        options = context.execution_options if context is not None else {}
        if options.get(RIDES) or id_reservoir.rides(context):
            connection.keep(statement, parameters, options.get(EXPECT_ROWS))
            return True
        if _flushed_update(context, options):
            connection.keep(statement, parameters, (1, _row_gone(context)))
            return True
        if connection._riders:
            connection.send_with(cursor, statement, parameters)
            return True
        return None

    @event.listens_for(engine, "do_execute")
    def _execute(cursor: Any, statement: str, parameters: Any, context: Any) -> bool | None:
        return _send(cursor, statement, parameters, context)

    @event.listens_for(engine, "do_execute_no_params")
    def _execute_no_params(cursor: Any, statement: str, context: Any) -> bool | None:
        return _send(cursor, statement, None, context)

    @event.listens_for(engine, "do_executemany")
    def _executemany(cursor: Any, _statement: str, _parameters: Any, _context: Any) -> None:
        connection = cursor.connection
        if isinstance(connection, CommitCarryingConnection) and connection._riders:
            connection.send_alone()


def _flushed_update(context: Any, options: Mapping[str, Any]) -> bool:
    """The ORM's UPDATE of one row it holds (a payment's status, a card operation resolved): nobody reads its answer
    but the ORM's row count check, which the server does instead (the dialect's `supports_sane_rowcount` is off
    on this engine: `install`). Recognised by the mapper's statement cache the ORM's flush executes it with."""
    compiled = getattr(context, "compiled", None)
    return bool(compiled is not None and getattr(context, "isupdate", False) and "compiled_cache" in options
                and not getattr(context, "executemany", False) and not compiled.effective_returning)


def _row_gone(context: Any) -> Callable[[], Exception]:
    table = getattr(getattr(context.compiled, "statement", None), "table", None)
    name = getattr(table, "name", "a table")

    def error() -> Exception:
        from kiosk.errors import StorageError

        return StorageError(f"UPDATE of {name} matched no row: the row was deleted meanwhile")
    return error


def kept_for_commit(context: Any) -> bool:
    """The statement of this execution context rides with the next one (or the COMMIT), not on its own."""
    options = getattr(context, "execution_options", {}) if context is not None else {}
    return bool(options.get(RIDES) or id_reservoir.rides(context) or _flushed_update(context, options))
