"""The database's clock and an upsert that speaks both dialects: every fleet time is the database's, so kiosks
whose clocks disagree still agree on who is silent."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from kiosk.persistence.db import is_postgres


def now(session: Session) -> datetime:
    """The database server's clock now (aware UTC); a SQLite file's clock is this machine's."""
    if is_postgres(session):
        value: datetime = session.execute(text("SELECT clock_timestamp()")).scalar_one()
        return value.astimezone(timezone.utc)
    raw = session.execute(text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")).scalar_one()
    return datetime.fromisoformat(str(raw)).replace(tzinfo=timezone.utc)


def insert_for(session: Session, model: type) -> Any:
    """The dialect's INSERT (with on_conflict_do_update / do_nothing) for `model`."""
    return (pg_insert if is_postgres(session) else sqlite_insert)(model)
