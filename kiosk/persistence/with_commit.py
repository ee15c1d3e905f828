"""A statement sent with the COMMIT: one round trip for both, on PostgreSQL.

A transaction's last statement, whose answer nobody reads (the audit chain's links and its head moved,
kiosk.persistence.chain), need not cost a round trip of its own: executed with the execution option
`WITH_COMMIT`, it is not sent when SQLAlchemy executes it but kept on the connection, and the connection's
commit() sends it and COMMIT as one simple query (psycopg's client-side binding: the parameters are quoted by
psycopg, as the server would bind them). Everything else stays as it was:
- the statement is compiled, its parameters processed and its execution seen by the engine's listeners
  (logging, kiosk.persistence.round_trips, the crash harness) exactly like any other;
- commit() is still the one DBAPI call that commits (SQLAlchemy's do_commit, the crash harness's kill points
  before and after it): the statement and the COMMIT reach the server in one message, and PostgreSQL runs the
  COMMIT only if the statement succeeded (an error skips the rest of the message and leaves the transaction
  aborted: the unit of work rolls back whole and says why, as for any failed statement);
- a rollback drops a kept statement unsent.
An engine made otherwise (SQLite, an engine of the tests' own) runs such a statement at once, as any other.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg import ClientCursor
from psycopg.pq import TransactionStatus
from sqlalchemy import Engine, event

from kiosk.persistence.commit_option import WITH_COMMIT  # the option lives where importing it needs no psycopg


class CommitCarryingConnection(psycopg.Connection):  # type: ignore[type-arg]
    """A psycopg connection whose commit() sends the statement kept for it in the same message as COMMIT."""

    _kept: tuple[str, Mapping[str, Any] | None] | None = None

    def keep_for_commit(self, statement: str, parameters: Mapping[str, Any] | None) -> None:
        if self._kept is not None:  # one statement rides with the COMMIT; an earlier one goes now
            self._send_kept()
        self._kept = (statement, parameters)

    def _send_kept(self) -> None:
        kept, self._kept = self._kept, None
        if kept is not None:
            with self.cursor() as cursor:
                cursor.execute(kept[0], kept[1])

    def commit(self) -> None:
        kept, self._kept = self._kept, None
        if kept is None or self.info.transaction_status != TransactionStatus.INTRANS:
            super().commit()
            return
        with ClientCursor(self) as cursor:
            cursor.execute(kept[0] + ";\nCOMMIT", kept[1])

    def rollback(self) -> None:
        self._kept = None
        super().rollback()


def install(engine: Engine) -> None:
    """Make `engine` (PostgreSQL, psycopg) open CommitCarryingConnections and keep WITH_COMMIT statements for the
    COMMIT."""

    @event.listens_for(engine, "connect")
    def _connected(dbapi_conn: Any, _record: Any) -> None:
        # the class changed once connected, not the connection made by a `do_connect` of ours: that would come
        # before (and so skip) the `do_connect` listeners of others, e.g. the runtime refusing to connect to a
        # database its health probe says is gone (kiosk.app_runtime.offline)
        if type(dbapi_conn) is psycopg.Connection:
            dbapi_conn.__class__ = CommitCarryingConnection

    @event.listens_for(engine, "do_execute")
    def _execute(cursor: Any, statement: str, parameters: Any, context: Any) -> bool | None:
        if not context.execution_options.get(WITH_COMMIT):
            return None
        connection = cursor.connection
        if not isinstance(connection, CommitCarryingConnection):
            return None
        connection.keep_for_commit(statement, parameters)
        return True


def kept_for_commit(context: Any) -> bool:
    """The statement of this execution context is (or would be) sent with the COMMIT, not on its own."""
    return bool(context is not None and getattr(context, "execution_options", {}).get(WITH_COMMIT))
