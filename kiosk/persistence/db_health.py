"""Is the estate database there? A probe that answers within seconds, and a way to free threads stuck on it.

A kiosk whose database went away must know within 5 s, whether the server was stopped (connections refused)
or the network drops packets (nothing answers at all, the case TCP itself takes minutes to notice). The probe
opens a fresh connection each time with libpq's own limits: `connect_timeout` (libpq's smallest honoured value,
2 s), TCP keepalives and `tcp_user_timeout` (a silent peer ends the connection instead of holding it for the
kernel's 15 minutes of retransmissions) and a `statement_timeout`, and runs `SELECT 1`. The caller waits for it
no longer than `deadline_s` on its own clock, so even a probe stuck where libpq cannot see counts as "down".

`ConnectionTracker` remembers the kiosk engine's checked-out connections, so that when the probe says "down"
the statements waiting on a silent network are ended at once (their sockets shut down) instead of after TCP's
timeouts: the resident mid-payment is told within seconds, and the thread is free.
"""
from __future__ import annotations

import logging
import socket
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

PROBE_CONNECT_TIMEOUT_S = 2  # libpq rounds anything smaller up to 2 s
PROBE_STATEMENT_TIMEOUT_MS = 1500
PROBE_DEADLINE_S = 2.5  # what the monitor waits for one probe before it counts as failed


def liveness_args(connect_timeout_s: int, *, user_timeout_ms: int = 4000) -> dict[str, Any]:
    """libpq connection options that notice a dead peer in seconds: the connect timeout, TCP keepalives (idle 2 s,
    then every 1 s, 2 misses) and TCP_USER_TIMEOUT for data sent and never acknowledged."""
    return {"connect_timeout": connect_timeout_s, "keepalives": 1, "keepalives_idle": 2, "keepalives_interval": 1,
            "keepalives_count": 2, "tcp_user_timeout": user_timeout_ms}


def probe_engine(url: str) -> Engine:
    """An engine for probes only: no pool (every probe connects afresh, so a half-dead connection is never
    reused), libpq's liveness options, a statement timeout."""
    if url.startswith("sqlite"):
        return create_engine(url, poolclass=NullPool, connect_args={"timeout": 1.0})
    args = liveness_args(PROBE_CONNECT_TIMEOUT_S, user_timeout_ms=2000)
    args["options"] = f"-c statement_timeout={PROBE_STATEMENT_TIMEOUT_MS}"
    return create_engine(url, poolclass=NullPool, connect_args=args)


@dataclass(frozen=True)
class ProbeResult:
    up: bool
    seconds: float
    reason: str = ""


def probe(engine: Engine, deadline_s: float = PROBE_DEADLINE_S) -> ProbeResult:
    """One `SELECT 1` on a fresh connection, waited for at most `deadline_s`."""
    outcome: list[ProbeResult] = []
    started = time.monotonic()

    def run() -> None:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1")).scalar_one()
            outcome.append(ProbeResult(True, time.monotonic() - started))
        except Exception as exc:  # noqa: BLE001 - any failure is "down", with its first line kept for the log
            first = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            outcome.append(ProbeResult(False, time.monotonic() - started, first[0][:200] if first else type(exc).__name__))

    worker = threading.Thread(target=run, name="db-probe", daemon=True)
    worker.start()
    worker.join(deadline_s)
    if outcome:
        return outcome[0]
    return ProbeResult(False, time.monotonic() - started, f"no answer within {deadline_s:.1f} s")


class ConnectionTracker:
    """The DBAPI connections an engine has checked out right now; `interrupt()` shuts their sockets down."""

    def __init__(self, engine: Engine) -> None:
        self._out: weakref.WeakSet[Any] = weakref.WeakSet()
        self._lock = threading.Lock()
        self.interrupted = 0
        event.listen(engine, "checkout", self._checkout)
        event.listen(engine, "checkin", self._checkin)

    def _checkout(self, dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        with self._lock:
            self._out.add(dbapi_conn)

    def _checkin(self, dbapi_conn: Any, _record: Any) -> None:
        if dbapi_conn is None:  # invalidated on the way back: nothing left to interrupt
            return
        with self._lock:
            self._out.discard(dbapi_conn)

    def interrupt(self) -> int:
        """End every checked-out connection's wait: its socket is shut down, so the statement fails now with a
        connection error (the unit of work rolls back and says the records cannot be reached)."""
        with self._lock:
            conns = list(self._out)
        done = 0
        for conn in conns:
            fd = _socket_fd(conn)
            if fd is None:
                continue
            try:
                sock = socket.socket(fileno=_dup(fd))
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                finally:
                    sock.close()
                done += 1
            except OSError as exc:
                log.debug("could not interrupt a database connection: %s", exc)
        self.interrupted += done
        return done


def _socket_fd(conn: Any) -> int | None:
    pgconn = getattr(conn, "pgconn", None)  # psycopg 3
    if pgconn is None:
        return None
    try:
        return int(pgconn.socket)
    except Exception:  # noqa: BLE001 - a connection already closed has no socket
        return None


def _dup(fd: int) -> int:
    import os

    return os.dup(fd)


Listener = Callable[[bool, str], None]


class DatabaseMonitor:
    """Probes every `interval_s` on its own thread and calls `on_change(up, reason)` when the answer changes.

    One failed probe is enough to say "down" (a probe waits at most `deadline_s`, so a cut is seen within
    `interval_s + deadline_s`); one answered probe says "up" again. The first probe's answer is always reported.
    """

    def __init__(self, url: str, on_change: Listener, *, interval_s: float = 1.0,
                 deadline_s: float = PROBE_DEADLINE_S) -> None:
        self.url = url
        self.on_change = on_change
        self.interval_s = interval_s
        self.deadline_s = deadline_s
        self.up: bool | None = None
        self.reason = ""
        self._engine = probe_engine(url)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check_now(self) -> bool:
        """Probe once, report a change, return whether the database answered."""
        result = probe(self._engine, self.deadline_s)
        if result.up != self.up:
            self.up, self.reason = result.up, result.reason
            if result.up:
                log.warning("the database answers again")
            else:
                log.error("the database does not answer: %s", result.reason)
            try:
                self.on_change(result.up, result.reason)
            except Exception:  # the monitor keeps probing whatever a listener does
                log.exception("database state listener failed")
        return result.up

    def start(self) -> DatabaseMonitor:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="db-monitor", daemon=True)
            self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            self.check_now()
            self._stop.wait(max(0.05, self.interval_s - (time.monotonic() - began)))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.deadline_s + 1)
        self._engine.dispose()
