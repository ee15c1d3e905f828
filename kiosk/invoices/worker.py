"""The invoice worker: a background thread that claims due requests and red letters and talks to the provider.

It follows kiosk/runtime's worker pattern (one thread owns its loop; `kick()` from any thread wakes it; it never
dies from one row's failure; `stop()` ends it after the row in hand). Several workers (threads, kiosks, a
`kiosk invoice sync` from cron) may share one queue: claims (kiosk.invoices.queue) keep each row with one of them.
An idle worker sleeps until the next row falls due, or a kick (a request or void at this kiosk), or at most
`idle_cap_s` (10 s: rows another kiosk queued, whose own workers normally send them).
Payments never wait on it: the provider down for hours only leaves rows queued or unknown, each asked again with
capped back-off.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from kiosk.errors import KioskError
from kiosk.invoices import queue
from kiosk.invoices.sender import Backoff, Outcome, Sender
from kiosk.persistence.db import unit_of_work
from kiosk.ports import InvoiceProvider

if TYPE_CHECKING:
    from kiosk.invoices.queue import Claim

log = logging.getLogger(__name__)


class InvoiceWorker:
    def __init__(self, provider: InvoiceProvider, factory: sessionmaker[Session], *, label: str = "worker",
                 backoff: Backoff | None = None, lease_s: float = 60.0, batch: int = 8, idle_cap_s: float = 10.0,
                 on_outcome: Callable[[Outcome], None] | None = None,
                 after_call: Callable[[Claim, str], None] | None = None) -> None:
        self.name = queue.worker_name(label)
        self.factory = factory
        self.sender = Sender(provider, factory, self.name, backoff, after_call)
        self.lease_s = lease_s
        self.batch = batch
        self.idle_cap_s = idle_cap_s
        self.on_outcome = on_outcome
        self.outcomes = 0
        self.failures = 0  # rounds that raised (database unreachable ...); the loop goes on
        self._kick = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_dead_check = 0.0

    def start(self) -> InvoiceWorker:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"invoice-{self.name}", daemon=True)
            self._thread.start()
        return self

    def kick(self) -> None:
        """Something was queued (or a claim freed): look now instead of at the next due time."""
        self._kick.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._kick.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stopping.is_set()

    def run_once(self) -> list[Outcome]:
        """Claim one batch of due rows and talk about each; what it did."""
        return self._round()[0]

    def _round(self) -> tuple[list[Outcome], float]:
        """One batch, and (when there was nothing to do) how long until the next row falls due: one transaction
        for both, so an idle kiosk costs one short transaction per `idle_cap_s`."""
        with unit_of_work(self.factory) as session:
            if time.monotonic() - self._last_dead_check > 30:
                queue.release_dead_claims(session)
                self._last_dead_check = time.monotonic()
            claims = queue.claim(session, self.name, limit=self.batch, lease_s=self.lease_s)
            wait = 0.0 if claims else queue.next_due_in(session, self.idle_cap_s)
        return [self._work(c) for c in claims if not self._stopping.is_set()], wait

    def _work(self, claim: Claim) -> Outcome:
        outcome = self.sender.work(claim)
        self.outcomes += 1
        if self.on_outcome is not None:
            try:
                self.on_outcome(outcome)
            except Exception:  # a listener must not stop the queue
                log.exception("invoice outcome listener failed")
        return outcome

    def _run(self) -> None:
        while not self._stopping.is_set():
            wait = self.idle_cap_s
            try:
                done, wait = self._round()
                if done:
                    continue
            except KioskError as exc:
                self.failures += 1
                log.warning("invoice worker %s: %s; trying again shortly", self.name, exc)
            except Exception:  # noqa: BLE001 - the worker never dies from one round
                self.failures += 1
                log.exception("invoice worker %s round failed", self.name)
            self._kick.wait(max(wait, 0.02))
            self._kick.clear()


def sync(provider: InvoiceProvider, factory: sessionmaker[Session], *, label: str = "sync",
         only: Callable[[Claim], bool] | None = None, lease_s: float = 60.0) -> list[Outcome]:
    """Send what is queued and ask the provider once about everything pending (what `kiosk invoice sync` and
    `kiosk invoice request` do, for cron or a terminal). Each row is talked about at most once (a row just
    sent is asked about right after); rows other workers hold are left to them."""
    name = queue.worker_name(label)
    sender = Sender(provider, factory, name)
    seen: set[tuple[bool, int]] = set()
    outcomes: list[Outcome] = []
    with unit_of_work(factory) as session:
        queue.release_dead_claims(session)
    while True:
        with unit_of_work(factory) as session:
            claims = queue.claim(session, name, limit=16, lease_s=lease_s, everything=True, skip=seen)
        if not claims:
            return outcomes
        for c in claims:
            seen.add((c.red, c.row_id))
            if only is not None and not only(c):
                _unclaim(factory, c, name)
                continue
            outcomes.append(sender.work(c, query_after_send=True))


def _unclaim(factory: sessionmaker[Session], claim: Claim, name: str) -> None:
    from kiosk.persistence.models import InvoiceRequest, RedLetter

    with unit_of_work(factory) as session:
        row = session.get(RedLetter if claim.red else InvoiceRequest, claim.row_id)
        if row is not None and row.claimed_by == name:
            if row.state == "sending":
                row.state = "queued"
            row.claimed_by, row.claimed_until = "", None
