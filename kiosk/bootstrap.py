"""The one place that wires settings, database, devices and UI together."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from kiosk import private_files
from kiosk import settings as settings_mod
from kiosk.persistence import schema
from kiosk.persistence.db import insert_ignoring_conflict, make_engine, make_session_factory, sqlite_url, unit_of_work
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
    """Connect; at start the kiosk backs the database up and upgrades it when the schema is behind."""
    url = database_url(settings)
    engine = make_engine(url)
    if upgrade:
        copy = schema.upgrade_with_backup(engine, settings.data_dir / "backups")
        if copy is not None:
            log.warning("database upgraded; backup at %s", copy)
    else:
        schema.check(engine)
    return Database(engine, make_session_factory(engine), url)


def ensure_till(db: Database, settings: Settings) -> Till:
    """The site and this kiosk's rows, created from settings on first start. The kiosk and an office command
    (or two kiosks) may start on an empty database at once: insert-if-absent, then read back, never a check
    followed by a plain insert that the second one loses with a unique violation."""
    site_cfg = settings.site
    with unit_of_work(db.factory) as session:
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
