"""The kiosk keeps its head when the estate database is gone (docs/fleet.md, "When the database is gone").

`OfflineGuard` runs the health probe (kiosk.persistence.db_health.DatabaseMonitor) for a PostgreSQL kiosk and:
- when the database stops answering: ends the statements waiting on it (their sockets shut down), makes new
  connections fail at once instead of after libpq's connect timeout, and publishes `DatabaseHealthChanged` on
  the bus; the screens put every feature that needs the database out of service (kiosk.flows.navigator) and the
  public pages read the local copy (kiosk.flows.public_cache);
- when it answers again: credits banknotes journaled on the kiosk (kiosk.payments.offline_cash) and what the
  validator stacked meanwhile, releases this kiosk's payments the outage interrupted (their bills open again,
  what arrived stays as credit), refreshes the local copy and publishes `DatabaseHealthChanged(up=True)`.

`offline_aware` wraps the money-moving calls of the facade: a payment cut off by the outage is one clear error
with its reference (E2013 with the banknotes journaled, E2014 otherwise), never a bare "cannot be reached".
"""
from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from kiosk.errors import DatabaseGone, KioskError, PaymentCutOff, PaymentInterruptedOffline, StorageError
from kiosk.flows.public_cache import PublicCache
from kiosk.flows.starting import DatabaseHealthChanged
from kiosk.persistence.db_health import ConnectionTracker, DatabaseMonitor

if TYPE_CHECKING:
    from kiosk.app_runtime.runtime import KioskRuntime

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
REFRESH_EVERY_S = 300.0  # the local copy of notices, directory and events, while the database answers


class OfflineGuard:
    def __init__(self, rt: KioskRuntime, cache: PublicCache, *, interval_s: float = 1.0,
                 refresh_every_s: float = REFRESH_EVERY_S) -> None:
        self.rt = rt
        self.cache = cache
        self.up = True
        self.down_since: datetime | None = None
        self.refresh_every_s = refresh_every_s
        self._local = threading.local()  # the payment reference a worker thread is moving money for
        self._stop = threading.Event()
        self.monitor: DatabaseMonitor | None = None
        self.tracker: ConnectionTracker | None = None
        self.caught_up = threading.Event()  # set after each return's catch-up (tests wait on it)
        if rt.db.url.startswith("postgresql"):
            self.tracker = ConnectionTracker(rt.db.engine)
            event.listen(rt.db.engine, "do_connect", self._refuse_while_down)
            self.monitor = DatabaseMonitor(rt.db.url, self._changed, interval_s=interval_s)

    # --- life ------------------------------------------------------------------------------------
    def start(self) -> None:
        if self.monitor is not None:
            self.monitor.up = True  # the runtime started on an open database: report only a change
            self.monitor.start()
        threading.Thread(target=self._refresh_loop, name="public-cache", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        if self.monitor is not None:
            self.monitor.stop()

    # --- the probe's verdicts ------------------------------------------------------------------------
    def _refuse_while_down(self, _dialect: Any, _record: Any, _cargs: Any, _cparams: Any) -> Any:
        if not self.up:
            import psycopg

            raise psycopg.OperationalError("the estate database does not answer (health probe)")
        return None

    def _changed(self, up: bool, reason: str) -> None:
        if not up:
            self.up = False
            self.down_since = datetime.now(timezone.utc)
            self.caught_up.clear()
            ended = self.tracker.interrupt() if self.tracker is not None else 0
            self.rt.db.engine.pool.dispose()  # idle connections are dead too: never ping them
            log.error("database gone (%s): %d statement(s) ended; out of service for money", reason, ended)
            self.rt.bus.publish(DatabaseHealthChanged(False, reason, self.cache.refreshed_at))
            return
        self.up = True
        began = time.monotonic()
        self.catch_up()
        self.rt.bus.publish(DatabaseHealthChanged(True, "", self.cache.refreshed_at))
        log.warning("database back: in service again after %.1f s of catch-up", time.monotonic() - began)

    def catch_up(self) -> None:
        """What the outage left: journaled notes and the validator's events credited, interrupted payments
        released, the local copy refreshed. Each part on its own: one failing does not stop the others."""
        from kiosk.services.abandoned import release_abandoned_intents

        try:
            if self.rt.cash_collector is not None:
                self.rt.cash_collector.recover()  # the kiosk's journal first, then the validator's events
            elif getattr(self.rt, "cash_journal", None) is not None:
                from kiosk.payments.offline_cash import credit_journaled_notes

                credit_journaled_notes(self.rt.db.factory, self.rt.till, self.rt.cash_journal)
        except Exception:
            log.exception("crediting banknotes after the outage failed; retried with the next payment")
        try:
            for collector in [*self.rt.qr_collectors.values(), *self.rt.code_collectors.values(),
                              *([self.rt.void_refunds] if self.rt.void_refunds is not None else [])]:
                collector.recover()  # QR and payment-code orders paid or closed while the database was gone
        except Exception:
            log.exception("settling QR orders after the outage failed; retried with the next payment")
        if self.down_since is not None:
            try:
                released = release_abandoned_intents(self.rt.db.factory, self.rt.till,
                                                     started_before=self.down_since, code=PaymentCutOff.code)
                if released:
                    log.warning("released %d payment(s) the outage interrupted: %s", len(released),
                                ", ".join(released))
            except Exception:
                log.exception("releasing payments the outage interrupted failed")
        self.refresh_cache()
        self.caught_up.set()

    # --- the local copy of the public pages -----------------------------------------------------------
    def refresh_cache(self) -> None:
        from kiosk.i18n import LANGUAGES

        services = self.rt.services
        now = self.rt.local_now()
        try:
            for language in LANGUAGES:
                services.current_notices(None, language, now)  # each call stores what it read
                services.directory(language)
                services.member_events(None, language, now)
        except KioskError as exc:
            log.warning("the local copy of the public pages was not refreshed: %s", exc)

    def _refresh_loop(self) -> None:
        while not self._stop.wait(self.refresh_every_s):
            if self.up:
                self.refresh_cache()

    # --- payments cut off ----------------------------------------------------------------------------------
    def moving_money_for(self, reference: str) -> None:
        self._local.reference = reference

    def translate_failure(self, exc: StorageError) -> KioskError:
        """The one error a resident sees when the database went away during a money call."""
        reference = getattr(self._local, "reference", "")
        cause: BaseException | None = exc
        while cause is not None:  # the cash journal's error, under the failed attempt to close the payment
            if isinstance(cause, PaymentInterruptedOffline):
                return cause
            cause = cause.__context__ or cause.__cause__
        if reference:
            return PaymentCutOff(f"{reference}: {exc.detail}", reference=reference)
        return DatabaseGone(exc.detail)


def offline_aware(method: F) -> F:
    """For a facade method that moves money: a StorageError that is not a refused write becomes the outage's
    error with the payment's reference."""
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        guard: OfflineGuard | None = getattr(self.rt, "offline", None)
        if guard is not None:
            guard.moving_money_for("")
        try:
            return method(self, *args, **kwargs)
        except StorageError as exc:
            if guard is None or type(exc) not in (StorageError, DatabaseGone, PaymentInterruptedOffline):
                raise
            raise guard.translate_failure(exc) from exc
        except OperationalError as exc:  # a connection outside a unit of work (the idempotency key's claim)
            if guard is None:
                raise
            raise guard.translate_failure(StorageError(str(exc.orig or exc).splitlines()[0])) from exc
    return wrapper  # type: ignore[return-value]


MONEY_METHODS = ("pay_bills", "top_up", "replace_card", "book", "pay_parking")


def make_offline_aware(cls: type) -> None:
    for name in MONEY_METHODS:
        if hasattr(cls, name):
            setattr(cls, name, offline_aware(getattr(cls, name)))
