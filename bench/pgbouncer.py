"""A throw-away PgBouncer in transaction pooling mode in front of a PostgreSQL server (Debian package `pgbouncer`),
for bench/fleet.py --pgbouncer and its test.

PgBouncer 1.18 (Debian 12) has no `max_prepared_statements` (1.21+): the kiosks' engines turn psycopg's prepared
statements off (`make_engine(..., transaction_pooler=True)`). It refuses startup parameters it does not know, so
`options` (where make_engine puts lock_timeout and statement_timeout) is ignored here: behind a pooler, set them on
the role instead (`ALTER ROLE kiosk SET lock_timeout = '10s'`, docs/fleet.md).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url

from bench.pg_server import _as_postgres, free_port


@contextmanager
def transaction_pooler(url: str, *, pool_size: int = 20) -> Iterator[str]:
    """PgBouncer for the server of `url` (trust auth, as the bench's server); yields `url` through it."""
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not os.path.exists(binary):
        raise SystemExit("PgBouncer is not installed (apt-get install pgbouncer)")
    target = make_url(url)
    port = free_port()
    work = tempfile.mkdtemp(prefix="kiosk-pgbouncer.")
    os.chmod(work, 0o755)
    user = target.username or "postgres"
    with open(os.path.join(work, "users.txt"), "w") as f:
        f.write(f'"{user}" ""\n')
    with open(os.path.join(work, "pgbouncer.ini"), "w") as f:
        f.write(f"""[databases]
* = host={target.host or '127.0.0.1'} port={target.port or 5432}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {work}/users.txt
pool_mode = transaction
max_client_conn = 1000
default_pool_size = {pool_size}
ignore_startup_parameters = extra_float_digits,options
logfile = {work}/pgbouncer.log
pidfile = {work}/pgbouncer.pid
""")
    if os.geteuid() == 0:
        for name in os.listdir(work):
            shutil.chown(os.path.join(work, name), "postgres")
        shutil.chown(work, "postgres")
    proc = subprocess.Popen(_as_postgres([binary, os.path.join(work, "pgbouncer.ini")]), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        import socket

        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"PgBouncer did not start: {proc.stderr.read().decode()[-400:]}")  # type: ignore[union-attr]
                time.sleep(0.05)
        yield target.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(work, ignore_errors=True)
