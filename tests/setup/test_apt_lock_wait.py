"""scripts/setup on a box where another apt run holds the Debian package locks (unattended-upgrades, cloud-init):
it waits, says what for, and installs afterwards; after KIOSK_APT_LOCK_WAIT it gives up with a clear message.

Nothing is installed: apt works on a throw-away package-list and cache directory (APT_CONFIG, no sources) and is
asked for a package that is already installed (--no-upgrade), which still takes the real dpkg lock."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DPKG_FRONTEND_LOCK = Path("/var/lib/dpkg/lock-frontend")
INSTALLED = "python3-venv"  # the setup's first package; already on any machine that runs these tests

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("apt-get") is None or not DPKG_FRONTEND_LOCK.exists()
    or not shutil.which("dpkg-query") or subprocess.run(["dpkg-query", "-W", INSTALLED],
                                                          capture_output=True).returncode != 0,
    reason="needs root on Debian with apt and python3-venv installed")

HOLD = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o640)
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # what apt and dpkg take: a POSIX write lock on the whole file
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


@contextmanager
def lock_held(path: Path, seconds: float) -> Iterator[int]:
    """Another package manager: a process holding `path` as apt does, for `seconds`."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield holder.pid
    finally:
        holder.kill()
        holder.wait()


@pytest.fixture
def apt_env(tmp_path: Path) -> dict[str, str]:
    """apt with its package lists and cache in tmp_path and no sources; setup sees INSTALLED as missing."""
    for d in ("lists/partial", "cache/archives/partial", "sources.d", "bin"):
        (tmp_path / d).mkdir(parents=True)
    conf = tmp_path / "apt.conf"
    conf.write_text(f'Dir::State::Lists "{tmp_path}/lists/";\nDir::Cache "{tmp_path}/cache/";\n'
                    f'Dir::Etc::SourceList "/dev/null";\nDir::Etc::SourceParts "{tmp_path}/sources.d/";\n')
    fake = tmp_path / "bin" / "dpkg-query"
    real = shutil.which("dpkg-query")
    fake.write_text(f'#!/bin/sh\nfor a in "$@"; do [ "$a" = "{INSTALLED}" ] && exit 1; done\nexec {real} "$@"\n')
    fake.chmod(0o755)
    return {**os.environ, "APT_CONFIG": str(conf), "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}",
            "KIOSK_APT_LOCK_WAIT": "60"}


def run(args: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
    t = time.monotonic()
    out = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    return out, time.monotonic() - t


def test_setup_waits_for_the_dpkg_lock_says_who_holds_it_and_then_installs(apt_env) -> None:
    with lock_held(DPKG_FRONTEND_LOCK, 4) as pid:
        out, took = run(["scripts/setup", "--packages-only"], apt_env)
    assert out.returncode == 0, out.stderr
    assert took >= 3.5  # it waited for the lock instead of failing at once
    assert f"waiting for the Debian package lock {DPKG_FRONTEND_LOCK}, held by process {pid} (python" in out.stderr
    assert f"installing Debian packages: {INSTALLED}" in out.stdout


def test_package_list_update_waits_for_the_lists_lock(apt_env, tmp_path: Path) -> None:
    lists_lock = tmp_path / "lists" / "lock"
    with lock_held(lists_lock, 3) as pid:
        out, took = run(["scripts/apt-wait", "apt-get", "update", "-q"], apt_env)
    assert out.returncode == 0, out.stderr
    assert took >= 2.5
    assert f"waiting for the Debian package lock {lists_lock}, held by process {pid}" in out.stderr


def test_setup_gives_up_after_the_wait_with_a_clear_message(apt_env) -> None:
    with lock_held(DPKG_FRONTEND_LOCK, 30) as pid:
        out, took = run(["scripts/setup", "--packages-only"], {**apt_env, "KIOSK_APT_LOCK_WAIT": "2"})
    assert out.returncode == 75
    assert 2 <= took < 15
    assert (f"gave up after 2 s waiting for the Debian package lock {DPKG_FRONTEND_LOCK}, held by process {pid}"
            in out.stderr)
    assert "KIOSK_APT_LOCK_WAIT" in out.stderr


def test_apt_failing_for_another_reason_is_not_waited_for(apt_env) -> None:
    out, took = run(["scripts/apt-wait", "apt-get", "install", "-y", "-q", "no-such-package-kiosk"], apt_env)
    assert out.returncode == 100 and "Unable to locate package" in out.stderr
    assert took < 10 and "waiting" not in out.stderr
