"""A start behind the window while the database is gone (kiosk.flows.starting.BackgroundStart with the real probe,
a real PostgreSQL server behind a proxy that refuses or drops): what needs no database is prepared while it is gone,
once; the start itself runs only once the database answers, and then at once."""
from __future__ import annotations

import time

from kiosk.flows.attract_snapshot import AttractSnapshot
from kiosk.flows.starting import BackgroundStart, DatabaseHealthChanged, ServicesReady, StartingServices
from kiosk.persistence.db_health import probe, probe_engine
from kiosk.runtime.events import EventBus


def _startup(tmp_path, url: str, steps: list[tuple[str, float]]) -> tuple[BackgroundStart, list[object], object]:
    bus, events = EventBus(), []
    bus.subscribe(object, events.append)
    engine = probe_engine(url)

    def ask() -> tuple[bool, str]:
        result = probe(engine)
        return result.up, result.reason

    startup = BackgroundStart(lambda: steps.append(("start", time.monotonic())) or "runtime",
                              StartingServices(AttractSnapshot(tmp_path / "snap.json")), bus, lambda rt: rt,
                              probe=ask, prepare=lambda: steps.append(("prepare", time.monotonic())))
    return startup, events, engine


def _wait_for(predicate, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"not within {timeout_s} s"
        time.sleep(0.02)


def test_prepared_while_refused_and_started_within_a_second_and_a_half_of_the_return(cut, pg_url, tmp_path):
    steps: list[tuple[str, float]] = []
    cut.refuse()  # the server stopped: nothing listens
    startup, events, engine = _startup(tmp_path, cut.url_for(pg_url), steps)
    try:
        startup.begin()
        _wait_for(lambda: startup.database_down, 5)
        time.sleep(2.5)  # several probes while it is gone
        assert [name for name, _ in steps] == ["prepare"]  # once, and no start
        assert isinstance(events[0], DatabaseHealthChanged) and not events[0].up
        cut.listen()
        back = time.monotonic()
        _wait_for(lambda: startup.started is not None, 10)
        assert startup.finish(10) == "runtime"
        started = dict(steps)["start"]
        assert started - back < 1.5, started - back  # the next probe (every second) answers, the start follows
        assert [type(e) for e in events] == [DatabaseHealthChanged, ServicesReady, DatabaseHealthChanged]
        assert events[-1].up
    finally:
        engine.dispose()


def test_prepared_while_packets_are_dropped_and_started_within_a_second_and_a_half_of_the_return(cut, pg_url, tmp_path):
    steps: list[tuple[str, float]] = []
    cut.blackhole()  # packets dropped: each probe waits for its timeout (about 2 s)
    startup, events, engine = _startup(tmp_path, cut.url_for(pg_url), steps)
    try:
        startup.begin()
        _wait_for(lambda: startup.database_down, 5)
        time.sleep(3.0)
        cut.restore()
        back = time.monotonic()
        _wait_for(lambda: startup.started is not None, 10)
        assert startup.finish(10) == "runtime"
        assert dict(steps)["start"] - back < 1.5, dict(steps)["start"] - back
        assert [name for name, _ in steps] == ["prepare", "start"]
    finally:
        engine.dispose()
