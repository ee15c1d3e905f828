"""The health probe against a real PostgreSQL server that is stopped (as in a crash: connections refused, the
open ones reset) and started again: gone within 5 s, back within 5 s of the server accepting connections."""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from bench.pg_server import free_port
from kiosk.persistence.db_health import DatabaseMonitor


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture
def server():
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not bins:
        pytest.skip("PostgreSQL is not installed")
    bin_dir, port = bins[-1], free_port()
    work = Path(tempfile.mkdtemp(prefix="kiosk-stopped-pg."))  # not under pytest's 0700 tmp: postgres runs it
    os.chmod(work, 0o755)
    if os.geteuid() == 0:
        shutil.chown(work, "postgres")
    data = work / "data"
    subprocess.run(_as_postgres([f"{bin_dir}/initdb", "-D", str(data), "-A", "trust", "-U", "postgres"]),
                   check=True, capture_output=True)

    def ctl(*args: str) -> None:
        subprocess.run(_as_postgres([f"{bin_dir}/pg_ctl", "-D", str(data), "-l", str(work / "log"), "-w", *args]),
                       check=True, capture_output=True)

    start = ["-o", f"-p {port} -k {work} -c listen_addresses=127.0.0.1 -c fsync=off", "start"]
    ctl(*start)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", lambda: ctl("-m", "immediate", "stop"), \
            lambda: ctl(*start)
    finally:
        subprocess.run(_as_postgres([f"{bin_dir}/pg_ctl", "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


def test_a_stopped_server_is_seen_within_5_s_and_its_return_within_5_s(server):
    url, stop, start = server
    monitor = DatabaseMonitor(url, lambda _up, _why: None).start()
    try:
        deadline = time.monotonic() + 10
        while monitor.up is not True:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        stop()
        stopped = time.monotonic()
        while monitor.up is not False:
            assert time.monotonic() - stopped < 5.0, "the stop was not seen within 5 s"
            time.sleep(0.02)
        start()  # returns once the server accepts connections
        started = time.monotonic()
        while monitor.up is not True:
            assert time.monotonic() - started < 5.0, "the return was not seen within 5 s"
            time.sleep(0.02)
    finally:
        monitor.stop()
