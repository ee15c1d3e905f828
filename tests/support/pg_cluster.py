"""A PostgreSQL primary and a streaming hot standby, with PostgreSQL's own tools (initdb, pg_basebackup -R,
pg_ctl), for the failover test (tests/fleet/test_failover.py) and bench (bench/fleet.py --failover).

    with PgCluster(55450, 55451) as cluster:        # synchronous standby (the product's default)
        url = cluster.url()                          # both hosts, target_session_attrs=read-write
        ...
        cluster.kill_primary()                       # pg_ctl stop -m immediate: a crash, not a shutdown
        cluster.promote()                            # pg_ctl promote -w on the standby

`synchronous=True` starts the primary with `synchronous_standby_names` naming the standby and
`synchronous_commit=on`: a COMMIT is acknowledged to the kiosk only once the standby has it on disk, so a
promoted standby has every payment a kiosk was told about. `synchronous=False` is the asynchronous standby: the
primary acknowledges at once and the standby follows a few milliseconds behind (what it can lose: docs/fleet.md,
"Standby and failover").

The settings that differ between the two nodes are given on each node's command line, not in its data
directory: a standby cloned with pg_basebackup would otherwise inherit `synchronous_standby_names` and, once
promoted with no standby of its own, wait for ever on every COMMIT.
"""
from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

STANDBY_NAME = "standby1"


def _bin(tool: str) -> str:
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[-2]))
    if not dirs:
        raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
    return f"{dirs[-1]}/{tool}"


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _run(cmd: list[str], timeout: float = 60) -> str:
    done = subprocess.run(_as_postgres(cmd), capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()[-800:]}")
    return done.stdout


class PgCluster:
    """A primary on `primary_port` and a standby on `standby_port`, both on 127.0.0.1, in a temporary directory
    owned by postgres. Durable settings (fsync on) unless `fsync=False` (tests that do not crash the machine)."""

    def __init__(self, primary_port: int, standby_port: int, *, synchronous: bool = True, fsync: bool = True,
                 workdir: str | None = None) -> None:
        self.ports = {"a": primary_port, "b": standby_port}
        self.synchronous = synchronous
        self.fsync = fsync
        self.work = Path(workdir or tempfile.mkdtemp(prefix="kiosk-pg-cluster."))
        self.primary, self.standby = "a", "b"  # which node is which; swapped by promote()
        self.killed: set[str] = set()

    # --- paths and options -------------------------------------------------------------------------------------
    def data(self, node: str) -> Path:
        return self.work / node

    def port(self, node: str) -> int:
        return self.ports[node]

    def _options(self, node: str, *, primary: bool) -> str:
        opts = [f"-p {self.ports[node]}", f"-k {self.work}"]
        if primary and self.synchronous:
            opts += [f"-c synchronous_standby_names={STANDBY_NAME}", "-c synchronous_commit=on"]
        return " ".join(opts)

    def _start(self, node: str, *, primary: bool) -> None:
        _run([_bin("pg_ctl"), "-D", str(self.data(node)), "-l", str(self.work / f"{node}.log"), "-w", "-t", "60",
              "-o", self._options(node, primary=primary), "start"], timeout=90)

    # --- life cycle --------------------------------------------------------------------------------------------
    def start(self) -> PgCluster:
        self.work.mkdir(parents=True, exist_ok=True)
        os.chmod(self.work, 0o755)
        if os.geteuid() == 0:
            shutil.chown(self.work, "postgres")
        a = self.data("a")
        _run([_bin("initdb"), "-D", str(a), "-A", "trust", "-U", "postgres", "-E", "UTF8"])
        with open(a / "postgresql.auto.conf", "a", encoding="utf-8") as conf:  # both nodes' (the clone copies it)
            conf.write("listen_addresses = '127.0.0.1'\nmax_connections = 200\nwal_level = replica\n"
                       "max_wal_senders = 5\nhot_standby = on\nwal_keep_size = 256MB\n"
                       "wal_log_hints = on\n"  # so pg_rewind can turn an old primary into a standby (the runbook)
                       f"fsync = {'on' if self.fsync else 'off'}\n")
        with open(a / "pg_hba.conf", "a", encoding="utf-8") as hba:  # initdb -A trust allows replication already;
            hba.write("host replication postgres 127.0.0.1/32 trust\n")  # said once more, plainly
        self._start("a", primary=True)
        self._clone_standby("b", from_node="a")
        self._start("b", primary=False)
        self.wait_streaming(want="sync" if self.synchronous else None)
        return self

    def _clone_standby(self, node: str, from_node: str) -> None:
        """pg_basebackup -R: the standby's data directory, standby.signal and primary_conninfo (with the
        application_name the primary's synchronous_standby_names expects)."""
        conninfo = f"host=127.0.0.1 port={self.ports[from_node]} user=postgres application_name={STANDBY_NAME}"
        _run([_bin("pg_basebackup"), "-D", str(self.data(node)), "-d", conninfo, "-R", "-X", "stream",
              "-c", "fast"], timeout=120)

    def wait_streaming(self, timeout_s: float = 30, *, want: str | None = None) -> str:
        """Until the primary sees the standby streaming (and, with `want`, in that sync_state: a synchronous
        standby shows 'async' for a moment while it catches up); returns its sync_state."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            out = self.psql(self.primary, "SELECT state || ' ' || sync_state FROM pg_stat_replication "
                                          f"WHERE application_name = '{STANDBY_NAME}'").strip()
            if out.startswith("streaming") and want in (None, out.split()[1]):
                return out.split()[1]
            time.sleep(0.1)
        raise RuntimeError(f"the standby on port {self.ports[self.standby]} is not streaming after {timeout_s} s")

    def psql(self, node: str, sql: str) -> str:
        return _run(["psql", "-X", "-A", "-t", "-h", "127.0.0.1", "-p", str(self.ports[node]), "-U", "postgres",
                     "-d", "postgres", "-c", sql], timeout=30)

    def url(self, database: str = "postgres", *, target: str = "read-write") -> str:
        """The kiosks' URL: both hosts in the form SQLAlchemy hands psycopg (libpq's multi-host conninfo
        host=127.0.0.1,127.0.0.1 port=p1,p2), and target_session_attrs so libpq skips the read-only one."""
        hosts = "&".join(f"host=127.0.0.1:{self.ports[n]}" for n in ("a", "b"))
        return f"postgresql+psycopg://postgres@/{database}?{hosts}&target_session_attrs={target}"

    def node_url(self, node: str, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.ports[node]}/{database}"

    def primary_url(self, database: str = "postgres") -> str:
        return self.node_url(self.primary, database)

    def hold_standby(self) -> int:
        """Stop the standby's WAL receiver (SIGSTOP) so it falls behind: what a slow or cut replication link does
        to an asynchronous standby. Returns the receiver's pid for `release_standby`."""
        pid = int(self.psql(self.standby, "SELECT pid FROM pg_stat_wal_receiver").strip())
        os.kill(pid, signal.SIGSTOP)
        return pid

    def drop_held_wal(self, pid: int) -> None:
        """The held receiver is killed (SIGKILL), so the WAL still in its socket is never read: the standby
        restarts its recovery with what it had written (what a cut link leaves it with). Call after
        kill_primary(): a receiver merely resumed would read the rest from its socket first."""
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the postmaster restarts its children after one was killed
            try:
                if self.psql(self.standby, "SELECT pg_is_in_recovery()").strip() == "t":
                    return
            except RuntimeError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the standby did not come back after its WAL receiver was killed")

    def kill_primary(self) -> float:
        """The primary crashes (pg_ctl stop -m immediate: no checkpoint, connections cut). Returns the moment
        (time.monotonic()) it was gone."""
        _run([_bin("pg_ctl"), "-D", str(self.data(self.primary)), "-m", "immediate", "-w", "stop"])
        self.killed.add(self.primary)
        return time.monotonic()

    def promote(self) -> None:
        """The standby becomes the primary (pg_ctl promote -w: returns once it accepts writes)."""
        _run([_bin("pg_ctl"), "-D", str(self.data(self.standby)), "-w", "-t", "60", "promote"], timeout=90)
        self.primary, self.standby = self.standby, self.primary

    def rejoin_old_primary(self) -> str:
        """The runbook's last step: the old primary, rewound to the new one's timeline (pg_rewind), started as
        its standby. Returns its sync_state. Until then the new primary commits without a standby."""
        old = self.standby
        # pg_rewind reads the new timeline from the source's control file, written at its first checkpoint
        # after promotion; without one it sees the old timeline and says "no rewind required"
        self.psql(self.primary, "CHECKPOINT")
        _run([_bin("pg_rewind"), "-D", str(self.data(old)), "--source-server",
              f"host=127.0.0.1 port={self.ports[self.primary]} user=postgres dbname=postgres", "-R"], timeout=120)
        auto = self.data(old) / "postgresql.auto.conf"
        with open(auto, "a", encoding="utf-8") as conf:
            conf.write(f"primary_conninfo = 'host=127.0.0.1 port={self.ports[self.primary]} user=postgres "
                       f"application_name={STANDBY_NAME}'\n")
        self._start(old, primary=False)
        self.killed.discard(old)
        if self.synchronous:  # the new primary waits for its new standby again (it was started without one)
            self.psql(self.primary, f"ALTER SYSTEM SET synchronous_standby_names = '{STANDBY_NAME}'")
            self.psql(self.primary, "SELECT pg_reload_conf()")
            return self.wait_streaming(want="sync")
        return self.wait_streaming()

    def stop(self) -> None:
        for node in ("a", "b"):
            if (self.data(node) / "postmaster.pid").exists():
                subprocess.run(_as_postgres([_bin("pg_ctl"), "-D", str(self.data(node)), "-m", "immediate", "stop"]),
                               capture_output=True, timeout=60)
        shutil.rmtree(self.work, ignore_errors=True)

    def __enter__(self) -> PgCluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def have_postgres() -> bool:
    """initdb, pg_ctl and pg_basebackup are installed (the failover tests skip otherwise)."""
    return bool(glob.glob("/usr/lib/postgresql/*/bin/pg_basebackup")) and shutil.which("psql") is not None
