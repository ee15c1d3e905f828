"""The health probe decides within 5 s that the database is gone (packets dropped) and within 5 s that it is back."""
from __future__ import annotations

import threading
import time

from sqlalchemy import text

from kiosk.errors import StorageError
from kiosk.persistence.db import make_engine, unit_of_work
from kiosk.persistence.db_health import ConnectionTracker, DatabaseMonitor, probe, probe_engine
from tests.support.chain_key import bound_factory


def _wait_for(predicate, timeout_s: float) -> float:
    began = time.monotonic()
    while time.monotonic() - began < timeout_s:
        if predicate():
            return time.monotonic() - began
        time.sleep(0.02)
    raise AssertionError(f"not within {timeout_s} s")


def test_probe_answers_through_the_proxy_and_fails_within_its_deadline_when_packets_are_dropped(cut, pg_url):
    engine = probe_engine(cut.url_for(pg_url))
    try:
        assert probe(engine).up
        cut.blackhole()
        result = probe(engine, deadline_s=2.5)
        assert not result.up and result.seconds < 2.8, result
    finally:
        engine.dispose()


def test_monitor_sees_the_cut_within_5_s_and_the_return_within_5_s(cut, pg_url):
    states: list[tuple[float, bool, str]] = []
    monitor = DatabaseMonitor(cut.url_for(pg_url), lambda up, why: states.append((time.monotonic(), up, why)))
    monitor.start()
    try:
        _wait_for(lambda: monitor.up is True, 5)
        cut.blackhole()
        went = time.monotonic()
        _wait_for(lambda: monitor.up is False, 10)
        assert states[-1][0] - went < 5.0, states
        cut.restore()
        back = time.monotonic()
        _wait_for(lambda: monitor.up is True, 10)
        assert states[-1][0] - back < 5.0, states
        assert [s[1] for s in states] == [True, False, True]
    finally:
        monitor.stop()


def test_monitor_sees_a_server_that_refuses_connections(cut, pg_url):
    """The proxy's port closed: connections refused, as with a stopped server."""
    states: list[bool] = []
    monitor = DatabaseMonitor(cut.url_for(pg_url), lambda up, _why: states.append(up))
    assert monitor.check_now()
    cut.refuse()
    try:
        assert not monitor.check_now()
        assert "refused" in monitor.reason.lower() or "connect" in monitor.reason.lower(), monitor.reason
    finally:
        monitor.stop()
    assert states == [True, False]


def test_a_statement_stuck_on_a_silent_network_is_ended_when_the_monitor_says_down(cut, pg_url):
    engine = make_engine(cut.url_for(pg_url))
    tracker = ConnectionTracker(engine)
    factory = bound_factory(engine)
    errors: list[BaseException] = []
    started = threading.Event()

    def stuck() -> None:
        try:
            with unit_of_work(factory) as s:
                s.execute(text("SELECT 1"))
                started.set()
                s.execute(text("SELECT pg_sleep(0.5)"))  # the cut falls while this waits for its answer
        except BaseException as exc:  # noqa: BLE001 - the test looks at it
            errors.append(exc)

    worker = threading.Thread(target=stuck)
    worker.start()
    try:
        assert started.wait(5)
        cut.blackhole()
        time.sleep(1.0)  # the answer is dropped: the statement would wait for TCP's own timeouts
        assert worker.is_alive()
        assert tracker.interrupt() == 1
        worker.join(3)
        assert not worker.is_alive()
        assert len(errors) == 1 and isinstance(errors[0], StorageError), errors
    finally:
        cut.restore()
        worker.join(5)
        engine.dispose()


def test_the_proxy_passes_bytes_unchanged_when_not_cut(cut, pg_url):
    engine = make_engine(cut.url_for(pg_url))
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT repeat('x', 100000)")).scalar_one() == "x" * 100000
    finally:
        engine.dispose()
