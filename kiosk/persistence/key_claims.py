"""Who is working on an idempotency key right now: a claim held for the whole of one attempt of a money use case
(intent -> money moves -> settle), seen by every thread and process on the same database, and let go when the
attempt ends or its process dies (nothing to expire, nothing left behind by a SIGKILL).

- PostgreSQL reached directly (a money use case's attempt, `RidingClaim`): a session advisory lock taken in the
  same message as the attempt's first statement, on a connection all its units of work use, let go with its
  settlement's COMMIT: no round trip of its own; held elsewhere, the attempt falls back to waiting below.
- PostgreSQL behind a transaction-pooling PgBouncer, and recovery's `try_claim`: a transaction-scoped advisory lock
  (`pg_try_advisory_xact_lock(class, key)`) in a transaction held open on a connection of its own for the attempt;
  a dead process's connection closes and the server drops its locks (both kinds: one lock space).
- SQLite (one machine): an open-file-description lock (F_OFD_SETLK) on one byte of `<database>-keys`, a 0600
  file beside the database; each claim opens the file anew, so two threads of one process exclude each other as
  two processes do, and the kernel drops the lock with the process.
- a database without a file (":memory:"): a set in this process.

The byte or lock key is 48 (PostgreSQL: 32) bits of the key's SHA-256: two keys sharing one only wait on each
other, they never share an outcome (that is the payment row's unique key).
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import struct
import threading
import time
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from kiosk.errors import StorageError

LOCK_CLASS = 0x4B4559  # "KEY": the first half of the two-key advisory lock, apart from other users of advisory locks
POLL_S = 0.05


class KeyClaim(Protocol):
    def release(self) -> None: ...


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def advisory_lock_key(key: str) -> int:
    """The second half of the key's PostgreSQL advisory lock (LOCK_CLASS is the first), transaction or session."""
    return int.from_bytes(_digest(key)[:4], "big", signed=True)


def _engine(factory: sessionmaker[Session]) -> Engine:
    bind = factory.kw.get("bind")
    if not isinstance(bind, Engine):
        raise TypeError("key claims need a session factory bound to an engine")
    return bind


def _run(conn: Any, sql: str) -> object:
    """`sql` (integers of ours, no text from outside) as one simple query on `conn`'s psycopg connection, seen by the
    engine's listeners like any statement (logging, kiosk.persistence.round_trips); its last result's first value."""
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        conn.dispatch.before_cursor_execute(conn, cursor, sql, {}, None, False)
        cursor.execute(sql)
        while cursor.nextset():
            pass
        return cursor.fetchone()[0] if cursor.description else None
    finally:
        cursor.close()


# --- PostgreSQL ----------------------------------------------------------------------------------------
class _AdvisoryClaim:
    """A transaction-scoped advisory lock, in a transaction kept open on a connection of its own for the attempt.

    Not a session lock: behind a transaction-pooling PgBouncer a session lock would stay on the server connection
    after the client's transaction, where the next kiosk given that connection could take it again (advisory locks
    are re-entrant per session) or fail to let it go. A transaction keeps its server connection, through a pooler
    as directly, and its end - commit, rollback, a dead client's closed connection - lets the lock go. One round
    trip to take it (BEGIN and the lock sent as one query), one to let it go (ROLLBACK: nothing was written)."""

    def __init__(self, engine: Engine, key: str) -> None:
        self.conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self.lock_key = advisory_lock_key(key)
        self.held = False

    def _run(self, sql: str) -> object:
        return _run(self.conn, sql)

    def acquire(self) -> bool:
        try:  # two integers of ours, no text from outside: sent as one simple query, BEGIN included
            got = self._run(f"BEGIN; SELECT pg_try_advisory_xact_lock({LOCK_CLASS}, {self.lock_key})")
            self.held = bool(got)
            if not self.held:
                self._run("ROLLBACK")
        except Exception:
            self.conn.invalidate()
            self.conn.close()
            raise
        if not self.held:
            self.conn.close()
        return self.held

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        try:
            self._run("ROLLBACK")
        except Exception:  # noqa: BLE001 - never hand a connection that may still hold the lock back to the pool
            self.conn.invalidate()
        finally:
            self.conn.close()


class KeyHeld(Exception):
    """The riding claim's lock, taken with the attempt's first statement, was held by another process: that message
    did nothing else (its check failed first), nothing of the attempt was committed."""


class RidingClaim:
    """PostgreSQL reached directly (no transaction pooler): a session advisory lock taken in the same message as the
    attempt's first statement, on a connection the attempt keeps for all its units of work (`pinned`), and let go
    with its settlement's COMMIT: no round trip of its own on the way a payment usually goes.

    - the take rides ahead of the attempt's first statement as a check (kiosk.persistence.with_commit.keep_check):
      held elsewhere, the check fails, the rest of that message (BEGIN, the statement) never runs and the body's
      first unit of work raises KeyHeld; the caller then waits for the key as before (`claim`);
    - the let-go rides with the settlement's COMMIT (`let_go_with_commit`); on any other way out (an error, a
      refusal) `release` sends it on its own;
    - two attempts of one process exclude each other first in the process (advisory locks are re-entrant per
      session), a dead process's session ends and the server drops its lock, and the transaction-scoped claims of
      `try_claim` (recovery, a kiosk behind PgBouncer) and these exclude each other: one lock space."""

    def __init__(self, engine: Engine, key: str) -> None:
        self.engine = engine
        self.lock_key = advisory_lock_key(key)
        self.local = _LocalClaim(f"{engine.url}|{key}")
        self.conn: Any = None
        self.let_go = False  # the unlock went with a COMMIT that succeeded

    def start(self) -> bool:
        if not self.local.acquire():
            return False
        try:
            self.conn = self.engine.connect()
            self.conn.connection.dbapi_connection.keep_check(
                f"pg_try_advisory_lock({LOCK_CLASS}, {self.lock_key})", KeyHeld)
        except BaseException:
            self.release()
            raise
        return True

    def let_go_with_commit(self) -> bool:
        """Queue the unlock on the pinned connection, to go with the transaction's COMMIT; True if queued."""
        dbapi = self.conn.connection.dbapi_connection if self.conn is not None and not self.conn.closed else None
        if dbapi is None or not self.conn.in_transaction():
            return False
        dbapi.keep(f"SELECT pg_advisory_unlock({LOCK_CLASS}, {self.lock_key})", None)
        return True

    def release(self) -> None:
        conn, self.conn = self.conn, None
        try:
            if conn is not None and not conn.closed:
                dbapi = conn.connection.dbapi_connection
                taken = dbapi is not None and not [r for r in dbapi.take_riders() if "pg_try_advisory_lock" in r.sql]
                if taken and not self.let_go:  # the take reached the server: let go now (the unlock is harmless
                    _run(conn, f"SELECT pg_advisory_unlock({LOCK_CLASS}, {self.lock_key})")  # if it had failed)
        except Exception:  # noqa: BLE001 - never hand a connection that may still hold the lock back to the pool
            conn.invalidate()
        finally:
            if conn is not None:
                conn.close()
            self.local.release()


def riding_claim(factory: sessionmaker[Session], key: str) -> RidingClaim | None:
    """A started RidingClaim on `key` (its take queued), for a PostgreSQL engine reached directly; None for other
    engines, or when another attempt of this process holds the key (the caller waits with `claim`)."""
    from kiosk.persistence.db import behind_transaction_pooler

    engine = _engine(factory)
    if engine.dialect.name != "postgresql" or behind_transaction_pooler(engine):
        return None
    got = RidingClaim(engine, key)
    try:
        return got if got.start() else None
    except OperationalError as exc:
        raise StorageError(str(exc.orig) if exc.orig else str(exc)) from exc


# --- SQLite file ---------------------------------------------------------------------------------------
_FLOCK = "hhqqi4x"  # struct flock on Linux: l_type, l_whence, l_start, l_len, l_pid (+ padding)


class _FileClaim:
    def __init__(self, path: Path, key: str) -> None:
        self.path = path
        self.offset = int.from_bytes(_digest(key)[:6], "big")
        self.fd: int | None = None

    def acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, self.offset, 1, 0))
        except OSError:  # EAGAIN / EACCES: someone holds it
            os.close(fd)
            return False
        self.fd = fd
        return True

    def release(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)  # closing the open file description drops its OFD locks


# --- no file -------------------------------------------------------------------------------------------
_local_lock = threading.Lock()
_local_keys: set[str] = set()


class _LocalClaim:
    def __init__(self, key: str) -> None:
        self.key = key
        self.held = False

    def acquire(self) -> bool:
        with _local_lock:
            if self.key in _local_keys:
                return False
            _local_keys.add(self.key)
        self.held = True
        return True

    def release(self) -> None:
        if self.held:
            self.held = False
            with _local_lock:
                _local_keys.discard(self.key)


def claims_file(engine: Engine) -> Path | None:
    """`<database>-keys` for a SQLite file database, None otherwise."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database + "-keys")


def try_claim(factory: sessionmaker[Session], key: str) -> KeyClaim | None:
    """The claim on `key` if nobody holds it now (release it when the attempt ends), else None."""
    engine = _engine(factory)
    claim: _AdvisoryClaim | _FileClaim | _LocalClaim
    if engine.dialect.name == "postgresql":
        try:  # no server to take it on (gone, or a standby not promoted yet): StorageError, as a unit of work says
            claim = _AdvisoryClaim(engine, key)
            return claim if claim.acquire() else None
        except OperationalError as exc:
            raise StorageError(str(exc.orig) if exc.orig else str(exc)) from exc
    else:
        path = claims_file(engine)
        claim = _FileClaim(path, key) if path is not None else _LocalClaim(key)
    return claim if claim.acquire() else None


def claim(factory: sessionmaker[Session], key: str, wait_s: float) -> KeyClaim | None:
    """The claim on `key`, waiting up to `wait_s` for whoever holds it to finish; None if they did not."""
    deadline = time.monotonic() + max(wait_s, 0.0)
    while True:
        got = try_claim(factory, key)
        if got is not None or time.monotonic() >= deadline:
            return got
        time.sleep(min(POLL_S, max(deadline - time.monotonic(), 0.0)))
