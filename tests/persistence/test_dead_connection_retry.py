"""A pooled connection that died while it sat in the pool (server restarted, standby promoted) costs no round trip on
the way out of the pool (no `pool_pre_ping`): the server's goodbye waiting on its socket shows it closed, and the
unit of work runs once, on a new connection, before any of its own statements was sent. A connection lost after that fails the unit of
work, with nothing of it kept and its block run once."""
from __future__ import annotations

import pytest

from sqlalchemy import text

from kiosk.errors import StorageError
from kiosk.persistence.db import make_engine, make_session_factory, unit_of_work
from kiosk.persistence.round_trips import counting
from tests.support.databases import pg_admin_url


def _terminate(admin_url: str, pids: list[int]) -> None:
    engine = make_engine(admin_url)
    try:
        with engine.connect() as conn:
            for pid in pids:
                conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_unit_of_work_on_dead_pooled_connections_runs_once_on_a_new_one(db_url):
    engine = make_engine(db_url)
    try:
        factory = make_session_factory(engine)
        with unit_of_work(factory) as a, unit_of_work(factory) as b:  # two connections in the pool
            pids = [a.execute(text("SELECT pg_backend_pid()")).scalar_one(),
                    b.execute(text("SELECT pg_backend_pid()")).scalar_one()]
        _terminate(pg_admin_url() or "", pids)
        runs = []
        with counting(engine) as count:
            with unit_of_work(factory) as s:
                runs.append(s.execute(text("SELECT pg_backend_pid()")).scalar_one())
        assert len(runs) == 1 and runs[0] not in pids
        assert count.pings == 0 and count.connects == 1 and count.round_trips == 2  # BEGIN + SELECT; COMMIT
        with unit_of_work(factory) as s:  # the other dead connection was dropped from the pool too
            assert s.execute(text("SELECT pg_backend_pid()")).scalar_one() not in pids
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_connection_lost_inside_a_unit_of_work_fails_it_whole_and_runs_it_once(db_url):
    engine = make_engine(db_url)
    try:
        factory = make_session_factory(engine)
        runs = 0
        with pytest.raises(StorageError):
            with unit_of_work(factory) as s:
                runs += 1
                s.execute(text("CREATE TABLE lost_half (x integer)"))
                s.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        assert runs == 1
        with unit_of_work(factory) as s:
            assert s.execute(text("SELECT to_regclass('lost_half')")).scalar_one() is None
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["postgres"])
def test_engine_transactions_outside_units_of_work_stay_atomic(db_url):
    """psycopg is in autocommit mode under the kiosk's engine: every SQLAlchemy transaction still has a BEGIN."""
    engine = make_engine(db_url)
    try:
        with pytest.raises(RuntimeError), engine.begin() as conn:
            conn.execute(text("CREATE TABLE half_done (x integer)"))
            raise RuntimeError("stop")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT to_regclass('half_done')")).scalar_one() is None
            conn.execute(text("CREATE TABLE not_committed (x integer)"))  # no commit(): rolled back on close
        with engine.connect() as conn:
            assert conn.execute(text("SELECT to_regclass('not_committed')")).scalar_one() is None
    finally:
        engine.dispose()
