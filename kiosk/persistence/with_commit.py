"""Statements that ride with the next one: a transaction's writes whose answer nobody reads cost no round trip
of their own on PostgreSQL.

A statement executed with the execution option `RIDES` (alias `WITH_COMMIT`; `commit_option.riding()`) is not sent
when SQLAlchemy executes it but kept on the connection; the transaction's next statement, or its COMMIT, takes every
kept statement along in the same round trip: one pipeline (psycopg's pipeline mode), each statement in it with its
own bound parameters, so that the server plans a statement once per connection, prepared after psycopg's
`prepare_threshold` uses, where one text message with the parameters quoted in was parsed and planned at every call
(docs/fleet.md, "The riders as a pipeline"). Behind a transaction pooler (kiosk.persistence.db), where nothing can be
prepared, they still go as that one text message, which PgBouncer passes on faster than a pipeline. The kiosk's
own BEGIN rides the same way (kiosk.persistence.db), so a transaction's first statement is its first round trip.
What does not change:
- each statement is compiled, its parameters processed and its execution seen by the engine's listeners (logging,
  kiosk.persistence.round_trips, the crash harness) exactly like any other;
- a riding UPDATE that must touch a known number of rows (`riding(rows, error)`) is checked by the server, in the
  same pipeline: a different count raises an error there, which aborts the rest of the pipeline (a COMMIT in it is
  not run) and comes back as `error()`;
- PostgreSQL runs the statements of one pipeline in order and skips the rest at the first error: the transaction
  is then aborted, the unit of work rolls back whole and says why (RecordConflict for a constraint), as for any failed
  statement; nothing after the failed statement ran;
- commit() is still the one DBAPI call that commits (the crash harness's kill points before and after it); a
  rollback drops kept statements unsent, so none ever reaches a later transaction on the same pooled connection;
- a statement whose answer is read (a SELECT, an INSERT ... RETURNING) is sent at once, carrying the kept ones.
An engine made otherwise (SQLite, an engine of the tests' own) runs such a statement at once, as any other.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import ClientCursor
from sqlalchemy import Engine, event

from kiosk.errors import StorageError
from kiosk.persistence import id_reservoir
from kiosk.persistence.commit_option import EXPECT_ROWS, RIDES, WITH_COMMIT  # noqa: F401 - re-exported

_MARK = "kiosk-expect-"  # the text of the error a riding statement's row check raises on the server


@dataclass(frozen=True)
class _Rider:
    sql: str  # the statement, its parameters as placeholders
    params: Mapping[str, Any] | Any | None = None
    error: Callable[[], Exception] | None = None  # raised when the server's row check fails


class CommitCarryingConnection(psycopg.Connection):  # type: ignore[type-arg]
    """A psycopg connection that keeps riding statements and sends them with the next statement or the COMMIT."""

    _riders: list[_Rider] | None = None
    _sending: Any = None  # the cursor a pipeline's riders are sent on (their answers are not read)
    _quoting: ClientCursor[Any] | None = None  # the cursor `_quoted` quotes with (it never executes)
    # the ids a transaction's first message took ahead (kiosk.persistence.id_reservoir.TRANSACTION_TABLES): the
    # transaction's own, left unused at its end
    transaction_ids: dict[str, list[int]] | None = None

    def keep(self, statement: str, parameters: Mapping[str, Any] | Any | None,
             expect: tuple[int, Callable[[], Exception] | None] | None = None) -> None:
        if expect is None:
            self._add(statement, parameters, None)
            return
        rows, error = expect  # the count of the UPDATE's RETURNING rows, checked by the server
        index = len(self._riders or ())
        check = _fails_unless(f"count(*) = {int(rows)}", index, "count(*)")
        self._add(f"WITH checked AS ({statement} RETURNING 1) SELECT {check} FROM checked", parameters, error)

    def keep_check(self, condition: str, error: Callable[[], Exception],
                   parameters: Mapping[str, Any] | None = None) -> None:
        """Keep a check that rides like a statement: `condition` (SQL with `parameters` bound as %(name)s, evaluated
        once, by the server, where the rider is sent; e.g. a lock taken) must be true, else `error()` is raised and
        the rest of its pipeline is not run."""
        self._add(f"SELECT {_fails_unless(condition, len(self._riders or ()), 'pg_backend_pid()')}", parameters, error)

    def _add(self, sql: str, params: Any, error: Callable[[], Exception] | None) -> None:
        if self._riders is None:
            self._riders = []
        self._riders.append(_Rider(sql, params, error))

    def _prepares(self) -> bool:
        """Statements can be prepared on this connection: not behind a transaction pooler (kiosk.persistence.db)."""
        return self.prepare_threshold is not None

    @contextmanager
    def _pipelined(self, riders: list[_Rider], tail: Sequence[str] = ()) -> Iterator[Any]:
        """Send `riders` and then `tail` (statements without parameters) in one pipeline, each a statement of its
        own, prepared once used often enough (psycopg's `prepare_threshold`); the block may add one more. At its end
        every answer is waited for and the first error raised, the connection out of pipeline mode either way.
        Yields the cursor the riders and `tail` were sent on: its result is the last of `tail`'s."""
        sent = self._sending = self._sending or self.cursor()
        pipeline = self.pipeline()
        pipeline.__enter__()
        try:
            for rider in riders:
                sent.execute(rider.sql, rider.params)
            for text in tail:
                sent.execute(text)
            yield sent
        except BaseException:
            # the first error came back while statements were still being queued (a rider's failed row check:
            # a resident's bill paid meanwhile): end the pipeline, whose rest the server skipped, and raise that
            # error alone; psycopg's own exit would log a warning for the skipped rest (`pipeline aborted`)
            try:
                pipeline.__exit__(None, None, None)
            except psycopg.Error:
                pass
            raise
        pipeline.__exit__(None, None, None)

    def _as_text(self, riders: list[_Rider], tail: Sequence[str] = ()) -> str:
        """`riders` and `tail` as one simple query, the riders' parameters quoted in as the server would bind them:
        behind a transaction pooler, where nothing can be prepared, one message costs PgBouncer less than a pipeline
        (docs/fleet.md, "The riders as a pipeline of prepared statements")."""
        return ";\n".join([self._quoted(r.sql, r.params) for r in riders] + list(tail))

    def _quoted(self, statement: str, parameters: Mapping[str, Any] | Any | None) -> str:
        """`statement` with its parameters quoted, by one client-side cursor kept for the connection (a cursor made for
        each statement cost its adapters' copy every time)."""
        if parameters is None:
            return statement
        if self._quoting is None:
            self._quoting = ClientCursor(self)
        return self._quoting.mogrify(statement, parameters)

    def _send_only(self, riders: list[_Rider], tail: Sequence[str] = ()) -> None:
        """`riders` and `tail`, nothing read back: in one pipeline, or one message behind a transaction pooler."""
        with _row_checks(riders):
            if self._prepares():
                with self._pipelined(riders, tail):
                    pass
            else:
                with self.cursor() as cursor:
                    cursor.execute(self._as_text(riders, tail), prepare=False)

    def carries(self) -> bool:
        """Kept statements would be sent: anything but the kiosk's lone BEGIN (a transaction that ran nothing
        sends nothing at all)."""
        return not _nothing_but_begin(self._riders or [])

    def take_riders(self) -> list[_Rider]:
        riders, self._riders = self._riders or [], None
        return riders

    def send_with(self, cursor: Any, statement: str, parameters: Any) -> None:
        """`statement` sent on `cursor` (SQLAlchemy's) with the kept statements ahead of it, in one pipeline; the
        cursor is left on `statement`'s result."""
        riders = self.take_riders()
        # a transaction's first message takes its ids ahead; a key's claim may ride ahead of its BEGIN
        first = any(r.sql == "BEGIN" for r in riders)
        ahead, attempt = id_reservoir.ids_ahead_sql() if first else (None, None)
        tail = [ahead] if ahead else []
        if self._prepares():
            with _row_checks(riders), self._pipelined(riders, tail) as sent:
                cursor.execute(statement, parameters)
            taken = sent.fetchall() if ahead else []
        else:
            with _row_checks(riders):
                cursor.execute(self._as_text(riders, [*tail, self._quoted(statement, parameters)]), prepare=False)
            for _rider in riders:
                cursor.nextset()
            taken = cursor.fetchall() if ahead else []
            if ahead:
                cursor.nextset()
        if ahead:
            self.transaction_ids = {}
            for table, row_id, for_attempt in taken:
                kept = attempt.got if attempt is not None and for_attempt else self.transaction_ids
                kept.setdefault(table, []).append(int(row_id))

    def send_alone(self) -> None:
        """The kept statements as a pipeline of their own (before an executemany, which cannot carry them)."""
        riders = self.take_riders()
        if riders:
            self._send_only(riders)

    def commit(self) -> None:
        self.transaction_ids = None
        riders = self.take_riders()
        if _nothing_but_begin(riders):
            super().commit()  # nothing sent since BEGIN (or a transaction psycopg began itself): as psycopg does
            return
        try:
            self._send_only(riders, ["COMMIT"])
        except BaseException:
            self._end_stopped_transaction()
            raise

    def _end_stopped_transaction(self) -> None:
        """A rider's error stopped the pipeline before its COMMIT: the transaction is aborted but still open, and
        SQLAlchemy, whose commit failed, sends no ROLLBACK. Roll it back here, so that the connection is usable by
        the next unit of work (a pinned one is not reset by the pool in between: kiosk.persistence.db.pinned)."""
        if self.info.transaction_status in (psycopg.pq.TransactionStatus.INERROR,
                                            psycopg.pq.TransactionStatus.INTRANS):
            try:
                super().rollback()
            except psycopg.Error:  # the connection itself is gone: the pool finds and replaces it
                pass

    def rollback(self) -> None:
        self._riders = None
        self.transaction_ids = None
        super().rollback()


def _nothing_but_begin(riders: list[_Rider]) -> bool:
    return all(r.sql == "BEGIN" for r in riders)


def _fails_unless(condition: str, index: int, varying: str) -> str:
    """A SELECT expression that is 0 when `condition` holds, else an error naming rider `index`. The error's text
    names `varying` (an expression of the row or the session), so the planner cannot fold it into an error raised
    whether or not the condition holds."""
    return f"CASE WHEN ({condition}) THEN 0 ELSE CAST('{_MARK}{int(index)}-' || {varying} AS integer) END"


@contextmanager
def _row_checks(riders: list[_Rider]) -> Iterator[None]:
    """Turns a failed check of one of `riders` (`_fails_unless`) into that rider's error."""
    try:
        yield
    except psycopg.errors.InvalidTextRepresentation as exc:
        if _MARK not in str(exc):
            raise
        index = int(str(exc).split(_MARK, 1)[1].split("-", 1)[0])
        error = riders[index].error if index < len(riders) else None
        if error is None:
            raise
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

    def _send(cursor: Any, statement: str, parameters: Any, context: Any) -> bool | None:
        connection = cursor.connection
        if not isinstance(connection, CommitCarryingConnection):
            return None
        rides, expect = _riding(context)
        if rides:
            connection.keep(statement, parameters, expect)
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


def _riding(context: Any) -> tuple[bool, tuple[int, Callable[[], Exception] | None] | None]:
    """Whether the statement of this execution context rides (and the row count it must touch): marked RIDES by its
    caller, an INSERT of rows whose ids were taken ahead (kiosk.persistence.id_reservoir), or the ORM's one-row
    UPDATE (`_flushed_update`)."""
    options = getattr(context, "execution_options", {}) if context is not None else {}
    if options.get(RIDES) or id_reservoir.rides(context):
        return True, options.get(EXPECT_ROWS)
    if _flushed_update(context, options):
        return True, (1, _row_gone(context))
    return False, None


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
    return lambda: StorageError(f"UPDATE of {name} matched no row: the row was deleted meanwhile")


def kept_for_commit(context: Any) -> bool:
    """The statement of this execution context rides with the next one (or the COMMIT), not on its own."""
    return _riding(context)[0]
