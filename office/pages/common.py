"""What the pages share: the site of the office server, a unit of work, the actor name for the audit log."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, g
from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.bootstrap import Database
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Site
from kiosk.settings import Settings


def settings() -> Settings:
    return current_app.config["OFFICE_SETTINGS"]


def db() -> Database:
    return current_app.config["OFFICE_DB"]


@contextmanager
def work() -> Iterator[Session]:
    with unit_of_work(db().factory) as session:
        yield session


def site_id() -> int:
    """The estate's site (created from settings by `ensure_till` on a database that has none yet)."""
    with work() as s:
        found = s.scalars(select(Site.id).where(Site.code == settings().site.code)).one_or_none()
    if found is None:
        from kiosk import bootstrap

        return bootstrap.ensure_till(db(), settings()).site_id
    return int(found)


def actor() -> str:
    return f"office:{g.user.name}"
