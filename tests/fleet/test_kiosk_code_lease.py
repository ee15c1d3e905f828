"""Two kiosks configured with the same kiosk code: the second refuses to start with one translated line (E1013)
naming the code, the other kiosk's host and last-seen time, and the fix; a kiosk restarting on its own box takes
its code back. On a SQLite file and on PostgreSQL, through the lease functions and with real kiosk processes."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select, text

from kiosk.errors import KioskCodeInUse
from kiosk.persistence import kiosk_lease
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.kiosk_lease import Holder
from kiosk.persistence.models import KioskLease

ROOT = Path(__file__).resolve().parents[2]


def _ended_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_second_kiosk_with_the_code_is_refused_with_one_translated_line(factory):
    me = kiosk_lease.this_process()
    kiosk_lease.take(factory, "K07", me)
    other_box = Holder("tower-b", "another-boot", 4242)
    with pytest.raises(KioskCodeInUse) as caught:
        kiosk_lease.take(factory, "K07", other_box)
    line = caught.value.user_message("en")
    assert caught.value.code == "E1013" and "\n" not in line
    assert "K07" in line and me.host in line and "kiosk_code under [site]" in line
    with unit_of_work(factory) as s:
        seen = s.get(KioskLease, "K07").last_seen
    assert kiosk_lease.wall_text(seen, "%Y-%m-%d %H:%M:%S") in line
    for language in ("zh_Hans", "zh_Hant"):
        assert caught.value.user_message(language) != line and "K07" in caught.value.user_message(language)


def test_the_same_box_takes_its_code_back_once_its_old_process_has_ended_and_not_before(factory):
    me = kiosk_lease.this_process()
    kiosk_lease.take(factory, "K08", Holder(me.host, me.boot_id, os.getppid()))  # a live process of this box
    with pytest.raises(KioskCodeInUse):
        kiosk_lease.take(factory, "K08", me)
    with unit_of_work(factory) as s:
        s.execute(text("UPDATE kiosk_leases SET pid = :pid WHERE kiosk_code = 'K08'"), {"pid": _ended_pid()})
    lease = kiosk_lease.take(factory, "K08", me)
    assert lease.beat()
    with unit_of_work(factory) as s:
        assert s.get(KioskLease, "K08").pid == me.pid


def test_a_stale_lease_is_taken_by_another_box_and_the_old_holder_learns_it_lost_it(factory):
    first = kiosk_lease.take(factory, "K09", Holder("lobby", "boot-1", 111))
    with pytest.raises(KioskCodeInUse):
        kiosk_lease.take(factory, "K09", Holder("car-park", "boot-2", 222))
    with unit_of_work(factory) as s:  # the lobby box has not been heard of for longer than the lease lasts
        s.execute(text("UPDATE kiosk_leases SET last_seen = :old WHERE kiosk_code = 'K09'"),
                  {"old": "2000-01-01 00:00:00" if s.get_bind().dialect.name == "sqlite" else "2000-01-01Z"})
    second = kiosk_lease.take(factory, "K09", Holder("car-park", "boot-2", 222))
    assert not first.beat() and first.lost and second.beat()
    second.release()  # a clean stop frees the code at once
    kiosk_lease.take(factory, "K09", Holder("lobby", "boot-1", 111))


# --- real kiosk processes ---------------------------------------------------------------------------------------
def _kiosk(data_dir: Path, db_url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "KIVY_NO_ARGS": "1", "KIVY_NO_CONSOLELOG": "1"}
    return subprocess.Popen([sys.executable, "-m", "kiosk", "demo", "--no-window", "--data-dir", str(data_dir),
                             "--db-url", db_url], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def _wait_running(proc: subprocess.Popen[str], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    assert proc.stdout is not None
    for line in proc.stdout:
        if "running without a window" in line:
            return
        assert time.monotonic() < deadline, "the kiosk did not start in time"
    raise AssertionError(f"the kiosk ended with {proc.wait()} before it ran")


def _stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        proc.wait(30)


def test_two_kiosk_processes_with_one_code_on_one_database(db_url, tmp_path, factory):
    """The first runs; the second stops at start (exit 2, E1013, the first one's process named); the first killed
    hard (no clean release), the box's next start takes the code back at once."""
    first = _kiosk(tmp_path / "data", db_url)
    try:
        _wait_running(first)
        second = subprocess.run([sys.executable, "-m", "kiosk", "demo", "--no-window", "--data-dir",
                                 str(tmp_path / "data"), "--db-url", db_url], cwd=ROOT, capture_output=True,
                                text=True, timeout=120, env={**os.environ, "KIVY_NO_ARGS": "1"})
        assert second.returncode == 2, second.stdout + second.stderr
        [line] = [ln for ln in (second.stdout + second.stderr).splitlines() if "E1013" in ln]
        assert "K01" in line and f"process {first.pid}" in line, line
        _stop(first, signal.SIGKILL)
        third = _kiosk(tmp_path / "data", db_url)
        try:
            _wait_running(third)
            with unit_of_work(factory) as s:
                assert s.scalars(select(KioskLease.pid).where(KioskLease.kiosk_code == "K01")).one() == third.pid
        finally:
            _stop(third)
    finally:
        _stop(first, signal.SIGKILL)
