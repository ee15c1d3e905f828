"""Fresh migrated databases for tests: a SQLite file copied from a migrated one, or a PostgreSQL database cloned from
a template. Each is migrated once per pytest process (Alembic's upgrade from nothing costs about 0.12 s, and about
700 tests ask for a SQLite database); the template is what `schema.upgrade` leaves, so a copy is the same database
a migration would have made."""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
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


@contextmanager
def postgres_database(migrated: bool = True) -> Iterator[str]:
    admin_url = pg_admin_url()
    assert admin_url, f"{PG_ENV} is not set"
    name = f"kiosk_t_{uuid.uuid4().hex[:12]}"
    if migrated:
        _ensure_template(admin_url)
    admin = _admin_engine(admin_url)
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}" + (f" TEMPLATE {TEMPLATE}" if migrated else "")))
    try:
        yield _with_db(admin_url, name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
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
