"""`CashCollector`: takes banknotes for one payment and puts every stacked note on the ledger as it lands.

It runs a `CashSession` against the acceptor (directly, or on the acceptor's worker through its
`DeviceSupervisor`), reports `PaymentProgress` to the screen through `PaymentControl`, and writes each
STACKED note with `payments.record_cash_in` in its own unit of work, together with the validator's
event counter. `recover()` at start-up (and before each payment) reads the validator's events since
the last counter recorded for this kiosk and credits notes stacked while the kiosk was down, once.

Where a recovered note goes: to the payment whose cash session was open when the kiosk stopped
(the newest `session`/`stacked` record of this kiosk, while that payment is still an INTENT);
otherwise to the kiosk's suspense account (`payments.record_unattributed_cash_in`), which staff see.
Session start/end are recorded as `CashEventRecord` markers (`session`, `session_end`, value 0)
carrying the counter, so the window recovery must read stays small and the owner is known.

Between payments (`watch_idle`): a job on the acceptor's worker reads the validator's event buffer every
IDLE_POLL_S, the same way the card watcher polls the reader. It never takes a payment's events: it runs only while
no `collect()` / `recover()` holds the collector (a payment that starts waits at most for the one read in flight,
and while it runs the idle reads are skipped). It writes nothing itself: when the buffer has events after the
newest recorded counter it runs `recover()`, which credits a stacked note exactly once by its counter and moves the
recorded baseline past the rest, so no note is lost or counted twice and the five-event buffer does not overflow
while the kiosk is idle. Cash box removed / replaced events (seen here, by recovery or during a payment) are written
as `stacker_removed` / `stacker_replaced` device events in the same transaction as the marker that moves the
baseline past them: once each (the heartbeat's cash-box state, kiosk.fleet.heartbeat).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kiosk.domain.terms import PaymentStatus
from kiosk.errors import (CashAcceptorFault, DatabaseGone, DeviceTimeout, NotFound, PaymentCancelled,
                          PaymentInterruptedOffline, StorageError)
from kiosk.i18n import N_
from kiosk.payments.cash_session import CashSession, CashState, CashView, OverpayPolicy
from kiosk.payments.control import PaymentControl, PaymentProgress, Stage
from kiosk.payments.offline_cash import CashJournal, credit_journaled_notes, new_note
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import CashEventRecord, DeviceEvent, Payment
from kiosk.ports import CashAcceptor, CashEvent, CashEventKind
from kiosk.runtime.supervisor import DeviceSupervisor
from kiosk.services import audit, payments
from kiosk.services.receipts import Till

log = logging.getLogger(__name__)
T = TypeVar("T")

IDLE_POLL_S = 1.0  # between payments: how often the validator's event buffer is read
STACKER_KINDS = (CashEventKind.STACKER_REMOVED, CashEventKind.STACKER_REPLACED)  # written as device events
MSG_IDLE = N_("No banknote was inserted for a while, so the payment was stopped.")
OWNER_KINDS = ("session", "stacked")  # a record of these kinds means a cash session was open


@dataclass(frozen=True)
class CreditedNote:
    """A note found by recovery: credited to `payment_id`, or to the suspense account when None."""

    counter: int
    value_fen: int
    payment_id: int | None


class _CounterTap:
    """The acceptor as the session sees it, remembering the newest event counter it handed out."""

    def __init__(self, device: CashAcceptor, counter: int) -> None:
        self.device = device
        self.counter = counter
        self.name = device.name
        self.stacker: list[CashEvent] = []  # box removed / replaced seen, not yet written (CashCollector._marker)

    def _seen(self, events: list[CashEvent]) -> list[CashEvent]:
        if events:
            self.counter = events[-1].counter
        self.stacker += [e for e in events if e.kind in STACKER_KINDS]
        return events

    def poll(self) -> list[CashEvent]:
        return self._seen(self.device.poll())

    def events_since(self, last_counter: int) -> list[CashEvent]:
        return self._seen(self.device.events_since(last_counter))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.device, name)


class CashCollector:
    """Banknotes for payments at one kiosk. One payment at a time; `collect` blocks its (worker) thread."""

    def __init__(self, acceptor: DeviceSupervisor[CashAcceptor] | CashAcceptor, factory: sessionmaker[Session],
                 till: Till, *, poll_interval_s: float = 0.15, overpay: OverpayPolicy = OverpayPolicy.ASK,
                 max_excess_fen: int = 0, consent_timeout_s: float = 20.0, idle_timeout_s: float | None = 180.0,
                 device_timeout_s: float = 5.0, clock: Callable[[], float] = time.monotonic,
                 journal: CashJournal | None = None) -> None:
        self.acceptor = acceptor
        self.journal = journal  # notes stacked while the database was gone (kiosk.payments.offline_cash)
        self.factory = factory
        self.till = till
        self.poll_interval_s = poll_interval_s
        self.overpay = OverpayPolicy(overpay)
        self.max_excess_fen = max_excess_fen
        self.consent_timeout_s = consent_timeout_s
        self.idle_timeout_s = idle_timeout_s
        self.device_timeout_s = device_timeout_s
        self._clock = clock
        self._tap: _CounterTap | None = None
        self._busy = threading.RLock()  # held by collect() and recover(); the idle watch only reads when free
        self._watching = threading.Event()

    # --- the device, on its own thread when supervised --------------------------------------------
    def _device(self) -> CashAcceptor:
        if isinstance(self.acceptor, DeviceSupervisor):
            return self.acceptor.worker.device
        return self.acceptor

    def _run(self, fn: Callable[[], T]) -> T:
        if not isinstance(self.acceptor, DeviceSupervisor) or self.acceptor.worker.on_worker_thread():
            return fn()
        future = self.acceptor.submit(lambda _device: fn())
        try:
            return future.result(timeout=self.device_timeout_s)
        except FutureTimeout as exc:
            raise DeviceTimeout("cash acceptor worker did not answer", device=self.acceptor.name) from exc

    def as_move_money(self, control: PaymentControl) -> Callable[[Payment], None]:
        """The `move_money` callable the payment services take (they hand over the Payment row)."""
        def move_money(payment: Payment) -> None:
            self.collect(payment.id, control)
        return move_money

    # --- start-up recovery ---------------------------------------------------------------------------
    def recover(self) -> list[CreditedNote]:
        """Credit notes the validator stacked while nobody recorded them; exactly once (see module doc).

        Also returns a note left in escrow. Call at start-up, before any payment; `collect` calls it too.
        Notes journaled on the kiosk while the database was gone are credited first, so that the counter they
        carry is known before the validator's events are read.
        """
        with self._busy:
            return self._recover()

    def _recover(self) -> list[CreditedNote]:
        if self.journal is not None:
            credit_journaled_notes(self.factory, self.till, self.journal)
        with unit_of_work(self.factory) as session:
            last = _last_record(session, self.till.kiosk_id)
            owner = _open_owner(session, last)
            baseline = last.counter if last is not None else 0
        tap = _CounterTap(self._device(), baseline)
        events = self._run(lambda: tap.events_since(baseline))
        self._tap = tap
        credited: list[CreditedNote] = []
        if last is None:
            # A new kiosk (or database): adopt the validator's counter, credit nothing from before.
            self._marker("baseline", tap.counter, None)
            self._run(self._device().return_escrow)
            return credited
        written = baseline  # the counter of the newest record
        for event in events:
            if event.kind is CashEventKind.STACKED:
                credited.append(self._credit_recovered(event, owner))
            elif event.kind in (CashEventKind.RESET, CashEventKind.ERROR):
                self._staff_alert(event)
            else:
                continue
            written = event.counter
        if tap.counter != written:
            # Move the baseline past events that were not money; an open session keeps its owner.
            self._marker("session" if owner is not None else "checkpoint", tap.counter, owner)
        self._run(self._device().return_escrow)
        if credited:
            log.warning("recovered %d note(s) stacked while unrecorded: %s", len(credited), credited)
        return credited

    def _credit_recovered(self, event: CashEvent, owner: int | None) -> CreditedNote:
        with unit_of_work(self.factory) as session:
            payment = session.get(Payment, owner) if owner is not None else None
            if payment is not None and payment.status == PaymentStatus.INTENT:
                payments.record_cash_in(session, self.till, payment, counter=event.counter, value_fen=event.value_fen)
                audit.record(session, f"kiosk:{self.till.kiosk_code}", "cash.recovered", payment.reference,
                             counter=event.counter, value_fen=event.value_fen)
                return CreditedNote(event.counter, event.value_fen, payment.id)
            payments.record_unattributed_cash_in(session, self.till, counter=event.counter, value_fen=event.value_fen,
                                                 detail="stacked while the kiosk was not recording")
            return CreditedNote(event.counter, event.value_fen, None)

    def _staff_alert(self, event: CashEvent) -> None:
        kind = "reset" if event.kind is CashEventKind.RESET else "events_lost"
        with unit_of_work(self.factory) as session:
            session.add(CashEventRecord(kiosk_id=self.till.kiosk_id, counter=event.counter, kind=kind, value_fen=0))
            session.add(DeviceEvent(kiosk_id=self.till.kiosk_id, device="cash", kind=kind, detail=event.detail[:300]))
            audit.record(session, f"kiosk:{self.till.kiosk_code}", f"cash.{kind}", f"counter {event.counter}",
                         detail=event.detail)
        log.error("cash acceptor %s (counter %s): %s; count the cash box", kind, event.counter, event.detail)

    def _marker(self, kind: str, counter: int, payment_id: int | None) -> None:
        """A baseline record; the cash box removed / replaced events seen up to it go in the same transaction."""
        tap = self._tap
        stacker = list(tap.stacker) if tap is not None else []
        with unit_of_work(self.factory) as session:
            session.add(CashEventRecord(kiosk_id=self.till.kiosk_id, counter=counter, kind=kind, value_fen=0,
                                        payment_id=payment_id))
            for event in stacker:
                session.add(DeviceEvent(kiosk_id=self.till.kiosk_id, device="cash", kind=str(event.kind),
                                        detail=f"counter {event.counter}: {event.detail}"[:300]))
        if tap is not None:
            del tap.stacker[:len(stacker)]
        for event in stacker:
            log.warning("cash box %s (counter %d)", "removed" if event.kind is CashEventKind.STACKER_REMOVED
                        else "replaced", event.counter)

    # --- between payments -------------------------------------------------------------------------
    def watch_idle(self, interval_s: float = IDLE_POLL_S) -> Callable[[], None]:
        """Read the validator's event buffer every `interval_s` while no payment runs (module doc); returns stop."""
        if not isinstance(self.acceptor, DeviceSupervisor):
            raise TypeError("the idle watch runs on a supervised acceptor's worker")
        supervisor = self.acceptor
        self._watching.set()

        def look(device: CashAcceptor) -> None:
            if not self._watching.is_set():
                return
            supervisor.worker.submit_after(interval_s, look)
            if not supervisor.available or self._tap is None or not self._busy.acquire(blocking=False):
                return  # gone, not recovered since the start yet, or a payment / recovery runs
            try:
                if device.events_since(self._tap.counter):
                    self._recover()
            except StorageError as exc:  # the database is gone: the events stay on the device, read again later
                log.debug("idle cash events not recorded: %s", exc)
            finally:
                self._busy.release()

        supervisor.worker.submit_after(interval_s, look)
        return self._watching.clear

    # --- one payment ---------------------------------------------------------------------------------
    def collect(self, payment_id: int, control: PaymentControl) -> int:
        """Take notes until the payment's amount has arrived; returns what it has received in total.

        Raises PaymentCancelled (cancel, or nobody inserting anything for `idle_timeout_s`) or
        CashAcceptorFault / a DeviceError; what was stacked stays on the ledger as credit either way.
        A payment resumed after a restart is only asked for what is still missing.
        """
        with self._busy:  # the idle watch stays off the acceptor while a payment runs
            return self._collect(payment_id, control)

    def _collect(self, payment_id: int, control: PaymentControl) -> int:
        with unit_of_work(self.factory) as session:
            payment = _payment(session, payment_id)
            amount, reference = payments.other_part(payment), payment.reference  # split: credit pays the rest
            household_id = payment.household_id
        self._recover()  # strays since the last session are credited to their owner, not to this payment
        with unit_of_work(self.factory) as session:
            received_before = _payment(session, payment_id).received_fen
        if received_before >= amount:
            return received_before
        assert self._tap is not None
        tap = self._tap
        self._marker("session", tap.counter, payment_id)
        try:
            run = _Run(self, payment_id, amount, received_before, control, tap)
            run.owner_of_notes = (reference, household_id)
            received = run.go(reference)
        except (PaymentCancelled, CashAcceptorFault):
            self._marker("session_end", tap.counter, payment_id)
            raise
        # Only after an orderly end (paid, cancelled, a reported fault): every event up to this counter
        # was handled and its note recorded. Any other failure leaves the window open for recover().
        self._marker("session_end", tap.counter, payment_id)
        return received


class _Run:
    """The state of one collect(): the session, what was reported last, the idle deadline."""

    def __init__(self, owner: CashCollector, payment_id: int, amount: int, received_before: int,
                 control: PaymentControl, tap: _CounterTap) -> None:
        self.owner = owner
        self.payment_id = payment_id
        self.amount = amount
        self.received_before = received_before
        self.control = control
        self.session = CashSession(tap, amount - received_before, self._stacked, overpay=owner.overpay,  # type: ignore[arg-type]
                                   max_excess_fen=owner.max_excess_fen, consent_timeout_s=owner.consent_timeout_s,
                                   clock=owner._clock)
        self._last: PaymentProgress | None = None
        self._idle_until = (owner._clock() + owner.idle_timeout_s) if owner.idle_timeout_s else None
        self._idle = False
        self._pause = threading.Event()  # never set: a bounded wait between polls, not a sleep
        self.owner_of_notes: tuple[str, int] | None = None  # (payment reference, household id)

    def _stacked(self, event: CashEvent) -> None:
        """The only place money appears: its own unit of work, with the validator's counter. When the database
        does not answer, the note goes to the kiosk's own journal (fsynced) and the payment stops: the session
        faults, which returns a note in escrow and disables the acceptor (kiosk.payments.offline_cash)."""
        try:
            with unit_of_work(self.owner.factory) as session:
                payment = payments.arriving_to(session, self.payment_id)  # with the credit account it lands on
                payments.record_cash_in(session, self.owner.till, payment, counter=event.counter,
                                        value_fen=event.value_fen)
        except StorageError as exc:
            # only "cannot be reached" (not a refused write, not a lock wait: the database answered those)
            if self.owner.journal is None or self.owner_of_notes is None or type(exc) not in (StorageError, DatabaseGone):
                raise
            reference, household_id = self.owner_of_notes
            self.owner.journal.append(new_note(self.owner.till, self.payment_id, reference, household_id,
                                               event.counter, event.value_fen))
            received = self.received_before + self.session.inserted_fen + event.value_fen
            raise PaymentInterruptedOffline(f"{reference}: note {event.counter} journaled on the kiosk",
                                            reference=reference, received_fen=received) from exc
        if self._idle_until is not None:
            self._idle_until = self.owner._clock() + (self.owner.idle_timeout_s or 0)

    def go(self, reference: str) -> int:
        run = self.owner._run
        session = self.session
        self._report(session.view())  # the no-change notice, before anything is enabled
        view = run(session.start)
        while not view.finished:
            self._report(view)
            if view.state is CashState.CONFIRM_OVERPAY:
                view = self._ask_consent()
                continue
            if view.state is CashState.CANCELLING:
                self._pause.wait(self.owner.poll_interval_s)  # a note on its way to the box must land first
            elif self.control.wait_cancelled(self.owner.poll_interval_s) or self._idle_expired():
                view = run(session.cancel)
                continue
            view = run(session.poll_once)
        self._report(view)
        received = self.received_before + view.inserted_fen
        if view.state is CashState.PAID:
            return received
        if view.state is CashState.CANCELLED:
            raise PaymentCancelled(f"{reference}: cancelled with {received} fen received", reference=reference)
        reason = dict(view.params).get("reason", "")
        raise CashAcceptorFault(f"{reference}: {reason}; {received} fen received", reason=reason)

    def _idle_expired(self) -> bool:
        if self._idle_until is None or self.session.inserted_fen or self.session.view().escrow_fen:
            return False
        if self.owner._clock() >= self._idle_until:
            self._idle = True
            return True
        return False

    def _ask_consent(self) -> CashView:
        run = self.owner._run
        answer = self.control.consent_answer(self.owner.poll_interval_s)
        if self.control.cancelled:
            return run(self.session.cancel)
        if answer is True:
            return run(self.session.accept_overpay)
        if answer is False:
            return run(self.session.decline_overpay)
        return run(self.session.poll_once)  # keeps the device polled; the session times the consent out

    def _report(self, view: CashView) -> None:
        progress = to_progress(view, self.amount, self.received_before, idle=self._idle)
        if progress != self._last:
            self._last = progress
            self.control.report(progress)


def to_progress(view: CashView, amount_fen: int, received_before: int = 0, *, idle: bool = False) -> PaymentProgress:
    """What the screen shows for a cash session's view: due and received are for the whole payment."""
    received = received_before + view.inserted_fen
    params = tuple((k, v) for k, v in view.params)
    notes = tuple(view.enabled_fen)  # what the screen shows at the note slot: the notes enabled now
    if view.state is CashState.NOTICE:
        return PaymentProgress(Stage.INSERT_NOTES, amount_fen, received, message=view.notice, notice=view.notice,
                               can_cancel=True)
    if view.state is CashState.CONFIRM_OVERPAY:
        return PaymentProgress(Stage.CONFIRM_OVERPAY, amount_fen, received, message=view.message, params=params,
                               notice=view.notice, notes_fen=notes)
    if view.state is CashState.PAID:
        return PaymentProgress(Stage.FINISHING, amount_fen, received, message=view.message, params=params,
                               can_cancel=False)
    if view.finished or view.state is CashState.CANCELLING:
        message = MSG_IDLE if idle and view.state is CashState.CANCELLED and not received else view.message
        return PaymentProgress(Stage.INSERT_NOTES, amount_fen, received, message=message,
                               params=params if message == view.message else (), can_cancel=False)
    return PaymentProgress(Stage.INSERT_NOTES, amount_fen, received, message=view.message, params=params,
                           notice=view.notice, notes_fen=notes)


def _payment(session: Session, payment_id: int) -> Payment:
    payment = session.get(Payment, payment_id)
    if payment is None:
        raise NotFound(f"payment {payment_id}")
    return payment


def _last_record(session: Session, kiosk_id: int) -> CashEventRecord | None:
    return session.scalars(select(CashEventRecord).where(CashEventRecord.kiosk_id == kiosk_id)
                           .order_by(CashEventRecord.id.desc()).limit(1)).first()


def _open_owner(session: Session, last: CashEventRecord | None) -> int | None:
    """The payment whose cash session was open when recording stopped, if it is still waiting for money."""
    if last is None or last.kind not in OWNER_KINDS or last.payment_id is None:
        return None
    payment = session.get(Payment, last.payment_id)
    if payment is None or payment.status != PaymentStatus.INTENT:
        return None
    return payment.id


def recovered_total(notes: Iterable[CreditedNote]) -> Mapping[int | None, int]:
    """Recovered fen per payment id (None = suspense), for logs and the staff screen."""
    totals: dict[int | None, int] = {}
    for note in notes:
        totals[note.payment_id] = totals.get(note.payment_id, 0) + note.value_fen
    return totals


__all__ = ["CashCollector", "CreditedNote", "recovered_total", "to_progress"]
