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


def test_a_kiosk_without_a_window_started_while_the_database_is_gone_waits_then_runs_and_stops_cleanly(
        cut, pg_url, tmp_path):
    """`kiosk demo --no-window` (as `kiosk run --no-window` on a server): the database refused at start is
    waited for with one translated line, not an E2011 exit; once it answers the kiosk runs; SIGTERM stops it (0)."""
    cut.refuse()
    env = {**os.environ, "KIVY_NO_ARGS": "1", "KIVY_NO_CONSOLELOG": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "demo", "--no-window", "--language", "en", "--data-dir",
                             str(tmp_path / "data"), "--db-url", cut.url_for(pg_url)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)  # type: ignore[arg-type]
    reader.start()
    try:
        _wait_for(lambda: any("does not answer" in ln for ln in lines), 60)
        time.sleep(2.0)  # several probes while it is gone: still waiting, not exited
        assert proc.poll() is None, "".join(lines)
        assert not any("E2011" in ln or "running without a window" in ln for ln in lines), "".join(lines)
        cut.listen()
        _wait_for(lambda: any("running without a window" in ln for ln in lines), 120)
        assert any("answers again" in ln for ln in lines), "".join(lines)
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(60) == 0, "".join(lines)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)


def test_a_kiosk_without_a_window_stopped_while_it_waits_for_the_database_exits_at_once(cut, pg_url, tmp_path):
    cut.refuse()
    env = {**os.environ, "KIVY_NO_ARGS": "1", "KIVY_NO_CONSOLELOG": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "run", "--no-window", "--language", "en", "--data-dir",
                             str(tmp_path / "data"), "--db-url", cut.url_for(pg_url)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)  # type: ignore[arg-type]
    reader.start()
    try:
        _wait_for(lambda: any("does not answer" in ln for ln in lines), 60)
        asked = time.monotonic()
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(30) == 0, "".join(lines)
        assert time.monotonic() - asked < 5
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
