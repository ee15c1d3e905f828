"""One process per kiosk code: a lease row per code (host, boot id, pid, a token of this start, last seen by the
database's clock), taken at start in one statement and kept fresh by a heartbeat.

The start's INSERT ... ON CONFLICT DO UPDATE takes the row when it is free, when its holder has not been heard
of for STALE_AFTER_S, or when the holder was this machine before a reboot (another boot id) or this very process
(a runtime started again in it). Otherwise, if the holder was a process of this machine and boot that has ended
(a kiosk killed and restarted before its lease went stale), the row is taken back by a compare-and-set on the
holder's token. Anything else is a second kiosk with the same code: KioskCodeInUse (E1013) names the code, the
other kiosk's host and when it was last seen, and the fix. The times are the database's (CURRENT_TIMESTAMP), so
kiosks whose clocks disagree still agree on staleness.
"""
from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from kiosk.domain.site_clock import wall_text
from kiosk.errors import KioskCodeInUse, KioskError
from kiosk.persistence.db import is_postgres, unit_of_work
from kiosk.persistence.models import KioskLease

log = logging.getLogger(__name__)

HEARTBEAT_S = 10.0  # how often a running kiosk tells the database it is alive
STALE_AFTER_S = 60  # a lease not heard of for this long may be taken by a kiosk on another machine


@dataclass(frozen=True)
class Holder:
    host: str
    boot_id: str
    pid: int


def this_process() -> Holder:
    return Holder(socket.gethostname()[:255], boot_id(), os.getpid())


def boot_id() -> str:
    """The kernel's id of this boot (changes at every reboot); the boot time where there is none."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()[:64]
    except OSError:
        try:
            return next(line.split()[1] for line in Path("/proc/stat").read_text().splitlines()
                        if line.startswith("btime"))
        except (OSError, StopIteration, IndexError):
            return "unknown"


def _alive(pid: int) -> bool:
    """A process of this machine that still runs (a zombie, killed but not yet reaped by its parent, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _stale(session: Session) -> str:
    if is_postgres(session):
        return f"CURRENT_TIMESTAMP - interval '{STALE_AFTER_S} seconds'"
    return f"datetime('now', '-{STALE_AFTER_S} seconds')"


def _now(session: Session) -> str:
    # SQLite's CURRENT_TIMESTAMP has whole seconds; strftime keeps the milliseconds in the same text form
    return "CURRENT_TIMESTAMP" if is_postgres(session) else "strftime('%Y-%m-%d %H:%M:%f', 'now')"


class Lease:
    """This process's hold on its kiosk code: `beat()` keeps it fresh, `release()` frees it at a clean stop."""

    def __init__(self, factory: sessionmaker[Session], kiosk_code: str, token: str) -> None:
        self.factory, self.kiosk_code, self.token = factory, kiosk_code, token
        self.lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self) -> bool:
        """Move last_seen to the database's now; False (and `lost`) when another kiosk has taken the code."""
        with unit_of_work(self.factory) as s:
            moved = s.execute(text(f"UPDATE kiosk_leases SET last_seen = {_now(s)} "
                                   "WHERE kiosk_code = :code AND token = :token"),
                              {"code": self.kiosk_code, "token": self.token}).rowcount
        if not moved and not self.lost:
            log.error("kiosk code %s was taken by another kiosk while this one was not heard of; "
                      "give each kiosk its own code ([site] kiosk_code)", self.kiosk_code)
        self.lost = not moved
        return bool(moved)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="kiosk-lease", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                self.beat()
            except KioskError as exc:  # the database away: the next beat tries again
                log.debug("lease heartbeat: %s", exc)

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            with unit_of_work(self.factory) as s:
                s.execute(text("DELETE FROM kiosk_leases WHERE kiosk_code = :code AND token = :token"),
                          {"code": self.kiosk_code, "token": self.token})
        except KioskError as exc:
            log.warning("kiosk code %s not released (%s); it goes stale in %d s", self.kiosk_code, exc,
                        STALE_AFTER_S)


def take(factory: sessionmaker[Session], kiosk_code: str, me: Holder | None = None) -> Lease:
    """This kiosk code's lease for this process, or KioskCodeInUse naming the kiosk that holds it."""
    me = me or this_process()
    token = secrets.token_hex(16)
    values = {"code": kiosk_code, "host": me.host, "boot": me.boot_id, "pid": me.pid, "token": token}
    with unit_of_work(factory) as s:
        now = _now(s)
        got = s.execute(text(
            "INSERT INTO kiosk_leases (kiosk_code, host, boot_id, pid, token, started_at, last_seen) "
            f"VALUES (:code, :host, :boot, :pid, :token, {now}, {now}) "
            "ON CONFLICT (kiosk_code) DO UPDATE SET host = excluded.host, boot_id = excluded.boot_id, "
            "pid = excluded.pid, token = excluded.token, started_at = excluded.started_at, "
            "last_seen = excluded.last_seen "
            f"WHERE kiosk_leases.last_seen < {_stale(s)} OR (kiosk_leases.host = excluded.host AND "
            "(kiosk_leases.boot_id <> excluded.boot_id OR kiosk_leases.pid = excluded.pid)) "
            "RETURNING token"), values).scalar()
        if got == token:
            return Lease(factory, kiosk_code, token)
        held = s.get(KioskLease, kiosk_code, populate_existing=True)
        assert held is not None
        if held.host == me.host and held.boot_id == me.boot_id and not _alive(held.pid):
            # this machine's kiosk, ended (killed, crashed) before its lease went stale: take it back
            got = s.execute(text(f"UPDATE kiosk_leases SET pid = :pid, token = :token, started_at = {now}, "
                                 f"last_seen = {now} WHERE kiosk_code = :code AND token = :old RETURNING token"),
                            {**values, "old": held.token}).scalar()
            if got == token:
                log.warning("kiosk code %s taken back from process %d of this machine, which has ended",
                            kiosk_code, held.pid)
                return Lease(factory, kiosk_code, token)
            held = s.get(KioskLease, kiosk_code, populate_existing=True)
            assert held is not None
        where = held.host if held.host != me.host else f"{held.host} (process {held.pid})"
        raise KioskCodeInUse(f"lease held by {held.host} pid {held.pid} since {held.started_at.isoformat()}",
                             code=kiosk_code, host=where, last_seen=wall_text(held.last_seen, "%Y-%m-%d %H:%M:%S"))
