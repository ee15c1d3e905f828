"""The network proxy between kiosks and PostgreSQL (tests/support/netproxy.py): its delay is real, a stall holds
bytes until resumed, a blackhole drops them (a connect is not refused, it gets no answer), a cut resets, and its
round-trip count matches the statements a connection sent."""
from __future__ import annotations

import threading
import time

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.support.databases import pg_admin_url
from tests.support.netproxy import proxied

pytestmark = pytest.mark.skipif(not pg_admin_url(), reason="KIOSK_TEST_PG_URL not set")


def _dsn(url: str, timeout: int = 5) -> str:
    u = make_url(url)
    return f"host={u.host} port={u.port} user={u.username} dbname={u.database} connect_timeout={timeout}"


def _select_one_ms(conn: psycopg.Connection, n: int = 15) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        conn.execute("SELECT 1").fetchone()
        times.append((time.perf_counter() - t0) * 1000)
    return sorted(times)[n // 2]


def test_delay_is_added_to_every_round_trip():
    with proxied(pg_admin_url()) as (_p, fast_url), proxied(pg_admin_url(), up_ms=5, down_ms=5) as (_q, slow_url):
        with psycopg.connect(_dsn(fast_url), autocommit=True) as fast, \
                psycopg.connect(_dsn(slow_url), autocommit=True) as slow:
            assert _select_one_ms(slow) - _select_one_ms(fast) >= 9.0


def test_round_trips_count_each_wait_for_an_answer():
    with proxied(pg_admin_url()) as (proxy, url):
        # psycopg prepares a statement on its 6th run (one round trip more, once): off here, so each run is one
        with psycopg.connect(_dsn(url), autocommit=True, prepare_threshold=None) as conn:
            before = proxy.round_trips
            for _ in range(7):
                conn.execute("SELECT 1").fetchone()
            assert proxy.round_trips - before == 7


def test_a_stall_holds_the_answer_until_resumed():
    with proxied(pg_admin_url()) as (proxy, url):
        with psycopg.connect(_dsn(url), autocommit=True) as conn:
            proxy.stall()
            threading.Timer(0.4, proxy.resume).start()
            t0 = time.perf_counter()
            assert conn.execute("SELECT 41 + 1").fetchone() == (42,)
            assert time.perf_counter() - t0 >= 0.35


def test_a_blackhole_gives_no_answer_and_refuses_nothing():
    with proxied(pg_admin_url()) as (proxy, url):
        conn = psycopg.connect(_dsn(url), autocommit=True)
        proxy.blackhole()
        answers: list[object] = []

        def ask() -> None:
            try:
                answers.append(conn.execute("SELECT 1").fetchone())
            except psycopg.OperationalError as exc:
                answers.append(exc)

        asking = threading.Thread(target=ask)
        asking.start()
        t0 = time.perf_counter()
        with pytest.raises(psycopg.OperationalError):  # the connect is accepted, then nothing: timeout, not refusal
            psycopg.connect(_dsn(url, timeout=2))
        assert time.perf_counter() - t0 >= 1.5
        assert answers == []  # the open connection's question got no answer either
        proxy.restore()  # the connection that lost its bytes is closed; a new one works
        asking.join(5)
        assert len(answers) == 1 and isinstance(answers[0], psycopg.OperationalError)
        with psycopg.connect(_dsn(url), autocommit=True) as again:
            assert again.execute("SELECT 1").fetchone() == (1,)


def test_a_cut_resets_open_connections_and_new_ones_work():
    with proxied(pg_admin_url()) as (proxy, url):
        conn = psycopg.connect(_dsn(url), autocommit=True)
        proxy.cut()
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
        with psycopg.connect(_dsn(url), autocommit=True) as again:
            assert again.execute("SELECT 1").fetchone() == (1,)
        proxy.refuse()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(_dsn(url))
        proxy.listen()
        with psycopg.connect(_dsn(url), autocommit=True) as back:
            assert back.execute("SELECT 1").fetchone() == (1,)
