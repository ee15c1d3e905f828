"""Waiting, in a test, until a PostgreSQL transaction of the test's database waits on a row lock."""
from __future__ import annotations

import time

from sqlalchemy import Engine, text


def until_a_backend_waits_on_a_lock(engine: Engine, timeout_s: float = 10.0) -> None:
    """Returns once some backend of the engine's database waits on a lock; AssertionError after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    with engine.connect() as watch:
        while time.monotonic() < deadline:
            waiting = watch.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                         "AND datname = current_database()")).scalar()
            watch.rollback()
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError("nothing waited on a lock")
