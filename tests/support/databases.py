"""Fresh migrated databases for tests: a SQLite file copied from a migrated one, or a PostgreSQL database cloned from
a template. Each is migrated once per pytest process (Alembic's upgrade from nothing costs about 0.12 s, and about
700 tests ask for a SQLite database); the template is what `schema.upgrade` leaves, so a copy is the same database
a migration would have made.

A PostgreSQL copy of the template takes the server about half a second (its 500-odd relations), and about 700 tests
ask for one: `_Copies` makes the next two on a thread of its own while the tests run, so a test takes one that is
ready instead of waiting for it."""
from __future__ import annotations

import atexit
import os
import queue
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from kiosk.persistence import schema
from kiosk.persistence.db import make_engine

PG_ENV = "KIOSK_TEST_PG_URL"  # e.g. postgresql+psycopg://postgres@127.0.0.1:55432/postgres
# One migrated template per pytest process: two test runs against one server never drop each other's.
TEMPLATE = f"kiosk_test_template_{os.getpid()}"
_template_ready = False
_sqlite_template: Path | None = None  # the migrated SQLite file this process copies
_copies: _Copies | None = None  # PostgreSQL copies of the template made ahead


def pg_admin_url() -> str | None:
    return os.environ.get(PG_ENV) or None


def _admin_engine(url: str) -> Engine:
    return create_engine(url, isolation_level="AUTOCOMMIT")


def _ensure_template(admin_url: str) -> None:
    global _template_ready
    if _template_ready:
        return
    admin = _admin_engine(admin_url)
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {TEMPLATE}"))
        conn.execute(text(f"CREATE DATABASE {TEMPLATE}"))
    admin.dispose()
    engine = make_engine(str(_with_db(admin_url, TEMPLATE)))
    schema.upgrade(engine)
    engine.dispose()
    _template_ready = True
    atexit.register(_drop_template, admin_url)


def _drop_template(admin_url: str) -> None:
    admin = _admin_engine(admin_url)
    try:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)"))
    finally:
        admin.dispose()


def _with_db(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)


class _Copies:
    """Fresh copies of the template, `AHEAD` of them made in advance by one thread. `take()` hands out a ready one
    (waiting for the one being made if none is); `stop()` drops those nobody took."""

    AHEAD = 2

    def __init__(self, admin_url: str) -> None:
        self._admin = _admin_engine(admin_url)
        self._ready: queue.Queue[str | BaseException] = queue.Queue()
        self._free = threading.Semaphore(self.AHEAD)
        self._stopped = False
        self._thread = self._started()

    def _started(self) -> threading.Thread:
        thread = threading.Thread(target=self._make, name="test-database-copies", daemon=True)
        thread.start()
        return thread

    def _make(self) -> None:
        while True:
            self._free.acquire()
            if self._stopped:
                return
            name = f"kiosk_t_{uuid.uuid4().hex[:12]}"
            try:
                with self._admin.connect() as conn:
                    conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
            except BaseException as exc:  # handed to the test that waits, which fails with it; the next test's
                self._ready.put(exc)  # take() starts the thread again
                return
            self._ready.put(name)

    def take(self) -> str:
        if self._ready.empty() and not self._thread.is_alive():
            self._thread = self._started()  # a copy failed before: try again for this test, not wait in vain
        made = self._ready.get(timeout=300)
        self._free.release()  # the next one is made while this one is used
        if isinstance(made, BaseException):
            raise made
        return made

    def stop(self) -> None:
        self._stopped = True
        self._free.release()
        self._thread.join(60)
        while not self._ready.empty():
            made = self._ready.get_nowait()
            if isinstance(made, str):
                _drop(self._admin, made)
        self._admin.dispose()


def _drop(admin: Engine, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def _migrated_copy(admin_url: str) -> str:
    global _copies
    _ensure_template(admin_url)
    if _copies is None:
        _copies = _Copies(admin_url)
        atexit.register(_copies.stop)  # before the template is dropped (atexit runs the last registered first)
    return _copies.take()


@contextmanager
def postgres_database(migrated: bool = True) -> Iterator[str]:
    admin_url = pg_admin_url()
    assert admin_url, f"{PG_ENV} is not set"
    admin = _admin_engine(admin_url)
    if migrated:
        name = _migrated_copy(admin_url)
    else:
        name = f"kiosk_t_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield _with_db(admin_url, name)
    finally:
        _drop(admin, name)
        admin.dispose()


@contextmanager
def sqlite_database(directory: Path, migrated: bool = True) -> Iterator[str]:
    path = directory / "kiosk.sqlite3"
    if migrated:
        shutil.copyfile(_migrated_sqlite_file(), path)
    yield f"sqlite:///{path}"


def _migrated_sqlite_file() -> Path:
    """The SQLite file this process migrated once, closed and whole: its WAL checkpointed into it and removed (the
    engine's last connection closing does that), so the one file is the whole database."""
    global _sqlite_template
    if _sqlite_template is None:
        folder = Path(tempfile.mkdtemp(prefix="kiosk-sqlite-template-"))
        atexit.register(shutil.rmtree, folder, True)
        path = folder / "kiosk.sqlite3"
        engine = make_engine(f"sqlite:///{path}")
        schema.upgrade(engine)
        engine.dispose()
        left = sorted(p.name for p in folder.iterdir() if p != path)
        assert not left, f"the migrated template left {left} beside it"
        _sqlite_template = path
    return _sqlite_template


@contextmanager
def database(kind: str, directory: Path, migrated: bool = True) -> Iterator[str]:
    if kind == "postgres":
        with postgres_database(migrated) as url:
            yield url
    else:
        with sqlite_database(directory, migrated) as url:
            yield url
