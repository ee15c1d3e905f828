"""Times that matter come from the database's clock, not the kiosk's.

Several kiosks write times that the others compare: payments' and receipts' times (settlement's day cut-off),
intents' ages (an intent left by a restart), PIN lock-outs, leases. A kiosk whose clock is minutes off would
put its payments in the wrong day and judge the others' intents and lock-outs wrongly. So the kiosk measures
the PostgreSQL server's clock (`SELECT clock_timestamp()`, the middle of the round trip taken as the moment it
was read) at start and every RESYNC_S after, and every 'now' of the process (kiosk.domain.site_clock.now_utc,
which the models' defaults and the services use) is the machine's clock corrected by that offset: no statement
is added to any unit of work, and the error is at most half a round trip (under a millisecond on the LAN).
A SQLite database lives on this machine, so its clock is the machine's: nothing to correct.

An offset beyond `[database] clock_warning_s` is logged as a warning (with the fix: set the machine's time, NTP)
and shown on the maintenance page's device list as "clock".
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from kiosk.domain import site_clock

log = logging.getLogger(__name__)

RESYNC_S = 60.0
SAMPLES = 3  # the reading with the shortest round trip wins


@dataclass(frozen=True)
class Reading:
    offset_s: float  # the database's clock minus the machine's
    round_trip_s: float


def read(engine: Engine) -> Reading:
    """One measurement of the database's clock against the machine's (the best of SAMPLES round trips)."""
    best: Reading | None = None
    with engine.connect() as conn:
        for _ in range(SAMPLES):
            before, t0 = site_clock.machine_now(), time.perf_counter()
            server: datetime = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
            trip = time.perf_counter() - t0
            middle = before.timestamp() + trip / 2
            got = Reading(server.astimezone(timezone.utc).timestamp() - middle, trip)
            if best is None or got.round_trip_s < best.round_trip_s:
                best = got
        conn.rollback()
    assert best is not None
    return best


class DatabaseClock:
    """Keeps the process's clock on the database's: `sync()` once, then every RESYNC_S in a thread."""

    def __init__(self, engine: Engine, warning_s: float) -> None:
        self.engine, self.warning_s = engine, warning_s
        self.offset_s: float | None = None  # None until the first reading
        self._warned = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def applies(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @property
    def off_by_s(self) -> float | None:
        """How far the machine's clock is from the database's (+: the machine is ahead), when past the bound."""
        if self.offset_s is None or abs(self.offset_s) <= self.warning_s:
            return None
        return -self.offset_s

    def sync(self) -> None:
        if not self.applies:
            return
        try:
            reading = read(self.engine)
        except SQLAlchemyError as exc:  # the database away: keep the last offset, try again at the next turn
            log.debug("database clock not read: %s", exc)
            return
        self.offset_s = reading.offset_s
        site_clock.use_database_offset(reading.offset_s)
        if self.off_by_s is not None and not self._warned:
            log.warning("this kiosk's clock is %+.1f s off the database's (more than the %s s allowed by "
                        "[database] clock_warning_s); times are taken from the database. Set the machine's time "
                        "(NTP).", self.off_by_s, self.warning_s)
        self._warned = self.off_by_s is not None

    def start(self) -> None:
        if not self.applies:
            return
        self.sync()
        self._thread = threading.Thread(target=self._run, name="database-clock", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(RESYNC_S):
            self.sync()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.offset_s is not None:
            site_clock.use_database_offset(0)
