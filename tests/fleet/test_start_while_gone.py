"""A start behind the window while the database is gone (kiosk.flows.starting.BackgroundStart with the real probe,
a real PostgreSQL server behind a proxy that refuses or drops): what needs no database is prepared while it is gone,
once; the start itself runs only once the database answers, and then at once."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from kiosk.flows.attract_snapshot import AttractSnapshot
from kiosk.flows.starting import BackgroundStart, DatabaseHealthChanged, ServicesReady, StartingServices
from kiosk.persistence.db_health import probe, probe_engine
from kiosk.runtime.events import EventBus

ROOT = Path(__file__).resolve().parents[2]


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


class HeadlessKiosk:
    """`kiosk COMMAND --no-window` as a process of its own; `lines` collects what it prints."""

    def __init__(self, command: str, data_dir: Path, db_url: str) -> None:
        env = {**os.environ, "KIVY_NO_ARGS": "1", "KIVY_NO_CONSOLELOG": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "kiosk", command, "--no-window", "--language", "en",
                                      "--data-dir", str(data_dir), "--db-url", db_url], cwd=ROOT, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True)
        self.lines: list[str] = []
        threading.Thread(target=lambda: self.lines.extend(self.proc.stdout), daemon=True).start()  # type: ignore[arg-type]

    def said(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def stop(self, timeout_s: float) -> int:
        os.killpg(self.proc.pid, signal.SIGTERM)
        return self.proc.wait(timeout_s)

    def __enter__(self) -> HeadlessKiosk:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)


def test_a_kiosk_without_a_window_started_while_the_database_is_gone_waits_then_runs_and_stops_cleanly(
        cut, pg_url, tmp_path):
    """`kiosk demo --no-window` (as `kiosk run --no-window` on a server): the database refused at start is
    waited for with one translated line, not an E2011 exit; once it answers the kiosk runs; SIGTERM stops it (0)."""
    cut.refuse()
    with HeadlessKiosk("demo", tmp_path / "data", cut.url_for(pg_url)) as kiosk:
        _wait_for(lambda: kiosk.said("does not answer"), 60)
        time.sleep(2.0)  # several probes while it is gone: still waiting, not exited
        assert kiosk.proc.poll() is None, "".join(kiosk.lines)
        assert not kiosk.said("E2011") and not kiosk.said("running without a window"), "".join(kiosk.lines)
        cut.listen()
        _wait_for(lambda: kiosk.said("running without a window"), 120)
        assert kiosk.said("answers again"), "".join(kiosk.lines)
        assert kiosk.stop(60) == 0, "".join(kiosk.lines)


def test_a_kiosk_without_a_window_stopped_while_it_waits_for_the_database_exits_at_once(cut, pg_url, tmp_path):
    cut.refuse()
    with HeadlessKiosk("run", tmp_path / "data", cut.url_for(pg_url)) as kiosk:
        _wait_for(lambda: kiosk.said("does not answer"), 60)
        asked = time.monotonic()
        assert kiosk.stop(30) == 0, "".join(kiosk.lines)
        assert time.monotonic() - asked < 5
