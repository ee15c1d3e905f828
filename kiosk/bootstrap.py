"""The one place that wires settings, database, devices and UI together."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from kiosk import private_files
from kiosk import settings as settings_mod
from kiosk.errors import DatabaseBusy, DatabaseUnreachable, StorageError
from kiosk.persistence import schema
from kiosk.persistence import chain
from kiosk.persistence.chain import ChainBinding
from kiosk.persistence.db import (
    insert_ignoring_conflict,
    is_busy,
    make_engine,
    make_session_factory,
    sqlite_url,
    unit_of_work,
)
from kiosk.persistence.models import Kiosk, Site
from kiosk.services.receipts import Till
from kiosk.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Database:
    engine: Engine
    factory: sessionmaker[Session]
    url: str


load_settings = settings_mod.load_for


def database_url(settings: Settings) -> str:
    """The database's URL; on the way, the data dir is made private and checked (see `protect_files`)."""
    if settings.database.url:
        url = settings.database.url
    else:
        private_files.make_private_dir(settings.data_dir)
        url = sqlite_url(settings.data_dir)
    protect_files(settings, url)
    return url


def protect_files(settings: Settings, url: str) -> list[private_files.Finding]:
    """The start-up check of private files: what other users could read is set private when the kiosk's user owns
    it, and each such file is a warning in the log (translated, with its code): E2301 when fixed, E2300 with the
    `chmod` that fixes it otherwise."""
    findings = private_files.check(settings.data_dir, sqlite_file(url), fix=True)
    private_files.log_findings(findings, settings.ui.language)
    return findings


def sqlite_file(url: str) -> Path | None:
    """The SQLite file of a sqlite URL (None for PostgreSQL and in-memory databases)."""
    if not url.startswith("sqlite"):
        return None
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    return Path(database) if database and database != ":memory:" else None


def open_database(settings: Settings, *, upgrade: bool = True) -> Database:
    """Connect; at start the kiosk backs the database up and upgrades it when the schema is behind.

    A database that is busy (another program holds SQLite's write lock, PostgreSQL's locks) or a server that
    refuses connections is waited for, at most `database.start_wait_s`, with one log line that says so;
    then the start stops with DatabaseBusy (E2010) or DatabaseUnreachable (E2011), never a raw
    "database is locked"."""
    url = database_url(settings)
    wait_s = float(settings.database.start_wait_s)
    # The start's schema step on its own engine with short lock waits, retried until the deadline; the
    # kiosk's own engine keeps the normal busy timeout for its units of work.
    starter = make_engine(url, busy_timeout_s=min(0.25, wait_s), lock_timeout_s=min(0.25, wait_s))
    try:
        _with_bounded_wait(lambda: _schema_step(starter, settings, upgrade), url, wait_s)
    finally:
        starter.dispose()
    engine = make_engine(url, lock_timeout_s=settings.database.lock_timeout_s,
                         statement_timeout_s=settings.database.statement_timeout_s)
    return Database(engine, make_session_factory(engine, chain=chain_binding(settings)), url)


def _schema_step(engine: Engine, settings: Settings, upgrade: bool) -> None:
    binding = chain_binding(settings)
    if upgrade:
        copy = schema.upgrade_with_backup(engine, settings.data_dir / "backups",
                                          audit_key=binding.key if binding else None)
        if copy is not None:
            log.warning("database upgraded; backup at %s", copy)
    else:
        schema.check(engine)


def _with_bounded_wait(step: Callable[[], None], url: str, wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    said = False
    while True:
        try:
            step()
            return
        except OperationalError as exc:
            why = _worth_waiting(exc)
            if why is None:
                raise StorageError(str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__) from exc
            if time.monotonic() >= deadline:
                if why == "busy":
                    raise DatabaseBusy(str(exc.orig).strip(), seconds=round(wait_s)) from None
                raise DatabaseUnreachable(str(exc.orig).strip().splitlines()[0], server=_server(url),
                                          seconds=round(wait_s)) from None
            if not said:
                log.warning("the database %s %s; waiting up to %d s", _server(url),
                            "is busy with another program" if why == "busy" else "does not answer", round(wait_s))
                said = True
            time.sleep(max(0.0, min(0.25, deadline - time.monotonic())))


def _worth_waiting(exc: OperationalError) -> str | None:
    """"busy" for a lock another program holds, "down" for a server that refused or timed out, None for
    anything waiting does not mend (a wrong password, a missing database, an unreadable file)."""
    if is_busy(exc):
        return "busy"
    sqlstate = getattr(exc.orig, "sqlstate", "")
    if sqlstate is None or sqlstate == "57P03":  # psycopg: no answer at all / "the database system is starting up"
        return "down"
    return None


def _server(url: str) -> str:
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - only ever used to name the server in a message
        return "?"
    if parsed.get_backend_name() == "sqlite":
        return str(parsed.database)
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}"


def chain_binding(settings: Settings) -> ChainBinding | None:
    """The estate's audit key (secrets.toml) and this kiosk's chain (its code): see kiosk.persistence.chain."""
    if settings.secrets is None:
        return None
    return ChainBinding(bytes.fromhex(settings.secrets.audit_key), settings.site.kiosk_code)


def ensure_till(db: Database, settings: Settings) -> Till:
    """The site and this kiosk's rows, created from settings on first start. The kiosk and an office command
    (or two kiosks) may start on an empty database at once: insert-if-absent, then read back, never a check
    followed by a plain insert that the second one loses with a unique violation."""
    site_cfg = settings.site
    with unit_of_work(db.factory) as session:
        chain.check_key(session)  # a kiosk with another estate's audit key stops here, saying which key to copy
        site = session.scalars(select(Site).where(Site.code == site_cfg.code)).one_or_none()
        if site is None:
            insert_ignoring_conflict(session, Site, code=site_cfg.code, name_zh_hans=site_cfg.name_zh_hans,
                                     name_zh_hant=site_cfg.name_zh_hant, name_en=site_cfg.name_en)
            site = session.scalars(select(Site).where(Site.code == site_cfg.code)).one()
        kiosk = session.scalars(select(Kiosk).where(Kiosk.code == site_cfg.kiosk_code)).one_or_none()
        if kiosk is None:
            insert_ignoring_conflict(session, Kiosk, site_id=site.id, code=site_cfg.kiosk_code,
                                     name=site_cfg.kiosk_code, out_of_service=False, out_of_service_reason="")
            kiosk = session.scalars(select(Kiosk).where(Kiosk.code == site_cfg.kiosk_code)).one()
        return Till(site.id, kiosk.id, kiosk.code, site_cfg.names(), site_cfg.receipt_qr_template)


def data_path(settings: Settings, *parts: str) -> Path:
    path = settings.data_dir.joinpath(*parts)
    private_files.make_private_dir(path.parent)
    return path
