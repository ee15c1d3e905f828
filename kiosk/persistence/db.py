"""Engines and units of work: SQLite (WAL, synchronous=FULL, foreign keys) or PostgreSQL by URL."""
from __future__ import annotations

import math
import select
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary, WeakSet

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from kiosk.errors import DatabaseBusy, DatabaseUrlUnsupported, KioskError, RecordConflict, StorageError
from kiosk.persistence.chain import INFO_BINDING, ChainBinding
from kiosk.persistence.commit_option import riding
from kiosk.persistence.db_health import liveness_args
from kiosk.private_files import create_private_file

SQLITE_FILE = "kiosk.sqlite3"


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / SQLITE_FILE).resolve()}"


BUSY_TIMEOUT_S = 30.0  # how long one statement waits for SQLite's write lock (another kiosk process, an import)
CONNECT_TIMEOUT_S = 10  # how long connecting to a PostgreSQL server may take before it counts as down
_busy_timeouts: WeakKeyDictionary[Engine, float] = WeakKeyDictionary()
_statement_timeouts: WeakKeyDictionary[Engine, float] = WeakKeyDictionary()
_poolers: WeakSet[Engine] = WeakSet()  # engines whose URL is a transaction-pooling PgBouncer
# the connection this thread's attempt of a money use case holds (kiosk.persistence.key_claims): its units of work
# run on it
_pinned: ContextVar[tuple[Engine, Connection] | None] = ContextVar("kiosk_pinned_connection", default=None)
LOCK_NOT_AVAILABLE, QUERY_CANCELED = "55P03", "57014"  # PostgreSQL's lock_timeout and statement_timeout


def make_engine(url: str, *, echo: bool = False, busy_timeout_s: float = BUSY_TIMEOUT_S,
                lock_timeout_s: float | None = None, statement_timeout_s: float | None = None,
                source: str = "the settings", transaction_pooler: bool = False) -> Engine:
    """An engine with the kiosk's connection settings for the URL's dialect.

    `busy_timeout_s` bounds SQLite's wait for the write lock; `lock_timeout_s` does the same for PostgreSQL's
    row and table locks (None: wait as long as it takes), `statement_timeout_s` any one PostgreSQL statement
    (None: no bound); either cancels the statement and its unit of work rolls back whole (DatabaseBusy). A URL SQLAlchemy cannot use is one
    DatabaseUrlUnsupported naming `source`, never a raw ArgumentError or a missing driver module.
    `transaction_pooler`: the URL is a PgBouncer in transaction pooling mode (psycopg's prepared statements off)."""
    try:
        if url.startswith("sqlite"):
            _create_sqlite_file_private(url)
            engine = create_engine(url, echo=echo, connect_args={"timeout": busy_timeout_s})
            _configure_sqlite(engine, busy_timeout_s)
            _busy_timeouts[engine] = busy_timeout_s
            return engine
        # TCP keepalives and TCP_USER_TIMEOUT: a network that drops packets ends a connection in seconds, not
        # after the kernel's minutes of retransmissions (kiosk.persistence.db_health, docs/fleet.md)
        connect_args: dict[str, Any] = liveness_args(CONNECT_TIMEOUT_S)
        options = [f"-c {name}={int(seconds * 1000)}" for name, seconds in
                   (("lock_timeout", lock_timeout_s), ("statement_timeout", statement_timeout_s)) if seconds is not None]
        if options:
            connect_args["options"] = " ".join(options)
        if transaction_pooler:  # PgBouncer in transaction mode: a statement prepared on one server connection is
            connect_args["prepare_threshold"] = None  # not there on the next one (docs/fleet.md, "PgBouncer")
        engine = create_engine(url, echo=echo, pool_size=5, max_overflow=5, connect_args=connect_args)
        _configure_postgres(engine)
        if transaction_pooler:
            _poolers.add(engine)
        if lock_timeout_s is not None:
            _busy_timeouts[engine] = lock_timeout_s
        if statement_timeout_s is not None:
            _statement_timeouts[engine] = statement_timeout_s
        return engine
    except (ArgumentError, ImportError, ValueError, TypeError) as exc:  # NoSuchModuleError is an ArgumentError
        raise DatabaseUrlUnsupported(key="database.url", file=source,
                                     reason=str(exc).splitlines()[0][:120] or type(exc).__name__) from None


def _create_sqlite_file_private(url: str) -> None:
    """SQLite creates the -wal and -shm files with the main file's mode: create the main file 0600 before the first
    connection does (with the process umask) so that all three are private (kiosk.private_files)."""
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:") and Path(database).parent.is_dir():
        create_private_file(Path(database))


def _configure_sqlite(engine: Engine, busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself: pysqlite's implicit
        # deferred BEGIN would let two writers race to upgrade their locks and fail.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Every unit of work may write: take the write lock up front so concurrent kiosks
        # processes queue on busy_timeout instead of deadlocking on lock upgrade.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _configure_postgres(engine: Engine) -> None:
    """BEGIN sent by us when a transaction starts, riding with its first statement (kiosk.persistence.with_commit):
    a transaction costs no round trip of its own. psycopg's connection is in autocommit mode for this (it then sends
    no BEGIN of its own); its commit() and rollback() still send COMMIT and ROLLBACK whenever a transaction is open.
    A connection asked for AUTOCOMMIT (a key claim's) gets no BEGIN.

    A pooled connection the server has closed (restarted, terminated it, a standby promoted) is found without a
    round trip when the pool hands it out: the server's last words (its error, the end of the stream) are waiting
    on the socket of a connection that has nothing in flight (`_closed_by_server`); the pool then opens a new one."""

    from kiosk.persistence import id_reservoir, with_commit
    from kiosk.persistence.commit_option import RIDES

    with_commit.install(engine)  # writes nobody reads ride with the next statement or the COMMIT
    id_reservoir.install(engine)  # the rows a payment writes most have their ids before their INSERT

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.autocommit = True

    @event.listens_for(engine.pool, "checkout")
    def _on_checkout(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        if _closed_by_server(dbapi_conn):
            raise DisconnectionError("the server closed this pooled connection")

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return
        dbapi_conn = conn.connection.dbapi_connection
        if dbapi_conn is not None and not dbapi_conn.autocommit:  # reset after an AUTOCOMMIT checkout
            dbapi_conn.autocommit = True
        conn.exec_driver_sql("BEGIN", execution_options={RIDES: True})


def _closed_by_server(dbapi_conn: Any) -> bool:
    """An idle connection with something to read has been closed by the server: it sends nothing unasked but its
    FATAL error before it hangs up (a NOTICE or a parameter change unasked would cost one reconnect, never a
    wrong answer). psycopg's own flags cover a connection it already knows is gone."""
    if getattr(dbapi_conn, "closed", False) or getattr(dbapi_conn, "broken", False):
        return True
    try:
        ready, _, _ = select.select([dbapi_conn.pgconn.socket], [], [], 0)
    except (OSError, ValueError, AttributeError):
        return True
    return bool(ready)


def behind_transaction_pooler(engine: Engine) -> bool:
    return engine in _poolers


@contextmanager
def pinned(engine: Engine, conn: Connection) -> Iterator[None]:
    """Units of work of `engine` opened by this thread (its context) inside the block run on `conn`, one after the
    other; one opened while `conn` is in a transaction (a unit of work inside another) takes a pooled connection."""
    token = _pinned.set((engine, conn))
    try:
        yield
    finally:
        _pinned.reset(token)


def _new_session(factory: sessionmaker[Session]) -> tuple[Session, bool]:
    pin = _pinned.get()
    if pin is not None and factory.kw.get("bind") is pin[0] and not pin[1].closed and not pin[1].in_transaction():
        return factory(bind=pin[1]), True
    return factory(), False


def make_session_factory(engine: Engine, *, chain: ChainBinding | None = None) -> sessionmaker[Session]:
    """Sessions of one engine. `chain` (the estate's audit key and this kiosk's chain) is needed by every unit of
    work that writes journal entries, card operations, receipts or audit rows (kiosk.persistence.chain)."""
    return sessionmaker(engine, expire_on_commit=False, autoflush=True, info={INFO_BINDING: chain} if chain else {})


@contextmanager
def unit_of_work(factory: sessionmaker[Session], *, read_only: bool = False) -> Iterator[Session]:
    """One transaction per user action: commit on success, roll back on any error.

    Repositories and services never commit; only this scope does. Database errors leave as
    StorageError (the cause chained), an integrity violation as RecordConflict naming the constraint; business
    errors pass through unchanged.

    On PostgreSQL the connection is taken from the pool before the block runs: one the server has closed (it
    restarted, a standby promoted) is found then, without a round trip, and replaced (`_configure_postgres`); the
    transaction's BEGIN rides with the block's first statement. Nothing of the block has run when a connection is
    replaced, so nothing can happen twice; a connection lost later fails the unit of work whole, as before.

    `read_only`: the block reads one query's worth (nothing it reads needs the same snapshot as another statement)
    and writes nothing (a flush raises). On PostgreSQL it runs on a pooled connection in AUTOCOMMIT, not on the
    thread's pinned one: no BEGIN and no COMMIT, so a one-query read is one round trip, not two (a card's tap).
    """
    session, on_pinned = _new_session(factory) if not read_only else (factory(), False)
    try:
        if read_only:
            session = _reading(session, factory)
        elif not on_pinned:  # a pinned connection was checked out (and its liveness seen) when it was pinned
            session = _begun(session, factory)
        yield session
        session.commit()
    except KioskError:
        session.rollback()
        raise
    except IntegrityError as exc:
        session.rollback()
        raise RecordConflict(violated_constraint(exc)) from exc
    except OperationalError as exc:
        session.rollback()
        if is_busy(exc):
            raise DatabaseBusy(str(exc.orig), seconds=busy_wait_s(session, exc)) from exc
        raise StorageError(str(exc.orig) if exc.orig else str(exc)) from exc
    except SQLAlchemyError as exc:
        session.rollback()
        orig = getattr(exc, "orig", None)  # what the database said, for the log and the staff's reference
        raise StorageError(f"{type(exc).__name__}: {orig}" if orig is not None else type(exc).__name__) from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _begun(session: Session, factory: sessionmaker[Session], **options: Any) -> Session:
    """The session with its transaction begun on a live connection (PostgreSQL; SQLite begins on first use).
    `options`: the connection's execution options (isolation_level="AUTOCOMMIT": no BEGIN, `_on_begin`)."""
    if not is_postgres(session):
        return session
    try:
        session.connection(execution_options=options or None)
        return session
    except OperationalError as exc:
        if not exc.connection_invalidated:
            raise
        session.close()
    retry = factory()  # once: a second dead connection in a row is a database gone, the caller's error
    try:
        retry.connection(execution_options=options or None)
    except BaseException:
        retry.close()
        raise
    return retry


_READ_ONLY = "kiosk.db.read_only"


def _reading(session: Session, factory: sessionmaker[Session]) -> Session:
    """`unit_of_work(read_only=True)`'s session: on PostgreSQL on an AUTOCOMMIT connection; a flush raises."""
    session = _begun(session, factory, isolation_level="AUTOCOMMIT")
    session.info[_READ_ONLY] = True
    return session


@event.listens_for(Session, "before_flush")
def _no_writes_when_reading(session: Session, _flush_context: Any, _instances: Any) -> None:
    if session.info.get(_READ_ONLY) and (session.new or session.dirty or session.deleted):
        raise RuntimeError("a read-only unit of work wrote: on PostgreSQL each statement would commit at once")


def is_busy(exc: OperationalError) -> bool:
    """SQLite's "database is locked" (another connection kept the write lock past the busy timeout), or
    PostgreSQL's lock_timeout or statement_timeout (a statement cancelled by the server, never by a person: the
    kiosk sends no cancel of its own)."""
    if getattr(exc.orig, "sqlstate", None) in (LOCK_NOT_AVAILABLE, QUERY_CANCELED):
        return True
    text = str(exc.orig).lower()
    return "database is locked" in text or "database is busy" in text


def busy_wait_s(session: Session, exc: OperationalError | None = None) -> int:
    """The timeout that ran out, of the session's engine, in whole seconds (for the "waited N s" line)."""
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    if exc is not None and getattr(exc.orig, "sqlstate", None) == QUERY_CANCELED:
        return math.ceil(_statement_timeouts.get(engine, _busy_timeouts.get(engine, BUSY_TIMEOUT_S)))
    return math.ceil(_busy_timeouts.get(engine, BUSY_TIMEOUT_S))


def violated_constraint(exc: IntegrityError) -> str:
    """Which rule the database enforced: PostgreSQL names the constraint, SQLite says it in its message."""
    diag = getattr(exc.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if name:
        table = getattr(diag, "table_name", None)
        return f"{name} on {table}" if table else str(name)
    return str(exc.orig).splitlines()[0] if exc.orig is not None else type(exc).__name__


def update_exactly(session: Session, statement: Any, rows: int, error: Callable[[], Exception]) -> None:
    """Run the UPDATE `statement`, which must touch exactly `rows` rows, else `error()` is raised and the unit of
    work rolls back whole. On PostgreSQL it rides with the transaction's next statement or its COMMIT and the
    server checks the count (kiosk.persistence.with_commit): no round trip of its own."""
    if is_postgres(session):
        session.execute(statement, execution_options=riding(rows, error))
        return
    if session.execute(statement).rowcount != rows:
        raise error()


def insert_ignoring_conflict(session: Session, model: type, **values: Any) -> None:
    """INSERT a row unless one with the same unique key exists (get-or-create without a race)."""
    session.execute(dialect_insert(session, model).values(**values).on_conflict_do_nothing())


def dialect_insert(session: Session, model: type) -> Any:
    """The INSERT of the session's dialect (PostgreSQL or SQLite), which has ON CONFLICT DO NOTHING."""
    if is_postgres(session):
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model)


def is_postgres(session_or_engine: Session | Engine) -> bool:
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else session_or_engine
    return bind.dialect.name == "postgresql"
