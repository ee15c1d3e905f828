"""PrintSpooler: prints the kiosk's persisted print jobs in order on the printer's worker thread; never touches a payment.

How it runs (everything that touches the printer or the queue runs as jobs on the printer's DeviceWorker):
- a *step* asks the printer for a fresh status, publishes PrinterStatusChanged when it changed, records a
  DeviceEvent row and publishes a StaffAlert when the printer's condition changed (near end, out, cover
  open, offline, ready again); if the printer can print, it prints the oldest queued job of this kiosk,
  marks it printed, and queues the next step behind whatever else waits on the worker (gate checks);
- steps come from `kick()` (after a unit of work that queued a receipt), from a timer every `interval`
  seconds while the printer can print and every `recheck` seconds while it cannot (it also finds jobs
  queued by other processes, e.g. `kiosk receipt reprint`), and from the supervisor's health returning
  to AVAILABLE;
- a printer that cannot print (paper out, offline, no reply, connection refused) is not sent the job: it
  stays queued, with no attempt counted, and prints on the first step that finds the printer ready. That
  holds also when the printer stops being ready between the step's status and the driver's own check just
  before sending (PrinterNotReady: nothing was sent);
- a printer that cannot be reached at all (status `reachable=False`: its serial port vanished, the
  connection is refused) is also handed to the supervisor (DeviceUnavailable raised on its worker), which
  reports it unavailable, closes it and reopens it with back-off; AVAILABLE again kicks a step;
- a job that fails once sent (PrintInterrupted: paper ran out mid-job; connection lost) is marked as a failed attempt with
  its error and stays queued (after `max_attempts` it is failed and staff requeue it); DeviceUnavailable
  and DeviceTimeout are re-raised to the supervisor, which closes and reopens the printer;
- a job printed but not yet marked (the database was unreachable) is remembered and never printed twice
  by this process.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout

from sqlalchemy.orm import Session, sessionmaker

from kiosk.domain.receipt import ReceiptDocument
from kiosk.errors import DeviceTimeout, DeviceUnavailable, KioskError, NotFound, PrinterNotReady, PrintInterrupted
from kiosk.i18n import N_
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Kiosk
from kiosk.ports import PaperState, PrinterStatus, ReceiptPrinter
from kiosk.printing import alerts
from kiosk.printing.events import PrinterCondition, PrinterStatusChanged, ReceiptPrinted, StaffAlert, condition_of
from kiosk.printing.preview import parse_number
from kiosk.receipts import gate as gates
from kiosk.receipts.gate import PrintGate, printer_gate
from kiosk.runtime.events import DeviceHealth, DeviceHealthChanged, EventBus
from kiosk.runtime.supervisor import DeviceSupervisor
from kiosk.services import audit, print_queue, receipts

log = logging.getLogger(__name__)

ALERT_MESSAGES = {
    PrinterCondition.PAPER_NEAR_END: gates.REASON_PAPER_NEAR_END,
    PrinterCondition.PAPER_OUT: gates.REASON_PAPER_OUT,
    PrinterCondition.COVER_OPEN: gates.REASON_COVER_OPEN,
    PrinterCondition.OFFLINE: gates.REASON_OFFLINE,
}
READY_AGAIN = N_("The receipt printer is ready again.")


def _offline(reason: str) -> PrinterStatus:
    return PrinterStatus(online=False, paper=PaperState.UNKNOWN, reason=reason)


class PrintSpooler:
    """Drains this kiosk's print queue through a supervised ReceiptPrinter. Thread-safe: call `kick`,
    `gate` and `reprint` from any thread except the printer's own worker (`gate` works there too)."""

    def __init__(self, printer: DeviceSupervisor[ReceiptPrinter], factory: sessionmaker[Session], kiosk_id: int,
                 bus: EventBus, *, interval: float = 5.0, recheck: float = 1.0, gate_timeout: float = 2.0,
                 busy_grace: float = 15.0, max_attempts: int = print_queue.MAX_ATTEMPTS) -> None:
        if interval <= 0 or recheck <= 0 or gate_timeout <= 0:
            raise ValueError("interval, recheck and gate_timeout are positive seconds")
        self.supervisor = printer
        self.factory = factory
        self.kiosk_id = kiosk_id
        self.bus = bus
        self.name = printer.name
        self.interval = interval  # timer while the printer is ready
        self.recheck = min(recheck, interval)  # timer while it cannot print: paper loaded -> printing within this
        self.gate_timeout = gate_timeout
        self.busy_grace = busy_grace  # how old a status may be to answer the gate while a job prints
        self.max_attempts = max_attempts
        self._lock = threading.Lock()
        self._running = False
        self._generation = 0  # bumps on start/stop so an old timer chain ends
        self._kicked = False  # a step is already waiting on the worker
        self._unsubscribe = None
        self._status: PrinterStatus | None = None
        self._status_at = 0.0
        self._condition: PrinterCondition | None = None
        self._printing_since: float | None = None
        self._unmarked: dict[int, str] = {}  # job id -> receipt number: printed, not yet marked in the database
        self._site_id: int | None = None
        self.steps = 0  # completed steps, for tests and staff diagnostics
        self.printed = 0
        self.failed_attempts = 0

    # --- life cycle --------------------------------------------------------------------------------
    def start(self) -> None:
        """Subscribe to the printer's health, start the timer and look at the queue now."""
        with self._lock:
            if self._running:
                return
            self._running, self._kicked = True, False
            self._generation += 1
            gen = self._generation
        self._unsubscribe = self.bus.subscribe(DeviceHealthChanged, self._on_health)
        self.supervisor.worker.submit_after(self.recheck, lambda p: self._tick(p, gen))
        self.kick()

    def stop(self) -> None:
        """Stop the timer and the health subscription; the job being printed finishes. The supervisor
        (and its worker) belong to the caller, who stops them after this."""
        with self._lock:
            self._running = False
            self._generation += 1
            unsubscribe, self._unsubscribe = self._unsubscribe, None
        if unsubscribe is not None:
            unsubscribe()

    @property
    def running(self) -> bool:
        return self._running

    @property
    def last_status(self) -> PrinterStatus | None:
        return self._status

    @property
    def condition(self) -> PrinterCondition | None:
        return self._condition

    @property
    def printing(self) -> bool:
        """A job is on its way to the paper right now."""
        return self._printing_since is not None

    # --- what the rest of the kiosk calls --------------------------------------------------------------
    def kick(self) -> None:
        """Print queued jobs now (returns at once; printing happens on the printer's worker)."""
        with self._lock:
            if self._kicked or not self._running:
                return
            self._kicked = True
        self.supervisor.worker.submit(self._kicked_step)

    def gate(self, timeout: float | None = None) -> PrintGate:
        """Can a receipt be printed now? Call BEFORE taking money. Asks the printer for a fresh status and
        waits at most `timeout` seconds (default `gate_timeout`): no answer in time is CANNOT_PRINT, unless
        a job is printing right now and the status seen just before it is under `busy_grace` seconds old."""
        timeout = self.gate_timeout if timeout is None else timeout
        if not self.supervisor.available:
            return printer_gate(_offline(self.supervisor.reason or f"printer {self.supervisor.health}"))
        if self.supervisor.worker.on_worker_thread():
            return printer_gate(self._observe(self.supervisor.worker.device.status()))
        future = self.supervisor.submit(self._poll)
        try:
            return printer_gate(future.result(timeout))
        except FutureTimeout:
            future.cancel()
            recent = self._recent_while_printing()
            return printer_gate(recent if recent is not None else _offline(f"no status within {timeout:g} s"))
        except KioskError as exc:
            return printer_gate(_offline(exc.detail or str(exc)))
        except RuntimeError as exc:  # WorkerStopped: the kiosk is shutting down
            return printer_gate(_offline(str(exc)))

    def reprint(self, number: int | str, *, actor: str = "", household_id: int | None = None) -> ReceiptDocument:
        """Queue a copy of stored receipt `number` (same number, marked "Reprint no. n") and print it.
        With `household_id`, a receipt of another household is NotFound. Returns the copy as printed."""
        n = parse_number(number)
        with unit_of_work(self.factory) as session:
            receipt = receipts.find(session, self._site(session), n)
            if household_id is not None and receipt.household_id != household_id:
                raise NotFound(f"receipt {n} of household {household_id}")
            doc = receipts.queue_reprint(session, receipt, self.kiosk_id)
            audit.record(session, actor or f"kiosk:{self.kiosk_id}", "receipt.reprint", receipts.format_number(n),
                         copy=receipt.reprint_count)
        self.kick()
        return doc

    def drain(self, timeout: float = 60.0) -> int:
        """Print queued jobs now and wait: returns how many are still queued when the queue is empty (0),
        the printer cannot print, a job failed, or `timeout` passed. For the command line and tests;
        the kiosk itself just kicks. Call it after `start()`, never on the printer's worker."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                if not self.supervisor.worker.submit(self._step).result(left):
                    break
            except (FutureTimeout, KioskError, RuntimeError):
                break
        return self.queued()

    def queued(self) -> int:
        """Jobs of this kiosk waiting for the printer."""
        with unit_of_work(self.factory) as session:
            return print_queue.count_by_status(session, self.kiosk_id)[print_queue.QUEUED]

    # --- on the worker -------------------------------------------------------------------------------
    def _kicked_step(self, printer: ReceiptPrinter) -> None:
        with self._lock:
            self._kicked = False
        self._step(printer)

    def _tick(self, printer: ReceiptPrinter, gen: int) -> None:
        if gen != self._generation:
            return
        try:
            self._step(printer)
        finally:
            ready = self._condition is PrinterCondition.READY or self._condition is PrinterCondition.PAPER_NEAR_END
            self.supervisor.worker.submit_after(self.interval if ready else self.recheck,
                                                lambda p: self._tick(p, gen))

    def _step(self, printer: ReceiptPrinter) -> bool:
        """Look at the printer and print the oldest job if it can; True when a job was printed."""
        try:
            if not self._running or not self.supervisor.available:
                return False
            self._mark_unmarked()
            status = self._poll(printer)
            if not printer_gate(status).can_print:
                return False  # nothing sent, no attempt counted: the timer or the health event comes back
            job = self._next_job()
            if job is None:
                return False
            if not self._print(printer, job):
                return False
            self.kick()  # the next job, behind any gate check already waiting
            return True
        finally:
            self.steps += 1

    def _print(self, printer: ReceiptPrinter, job: print_queue.PrintJobView) -> bool:
        self._printing_since = time.monotonic()
        try:
            printer.print_receipt(print_queue.printable_document(job))
        except (DeviceUnavailable, DeviceTimeout) as exc:
            self._failed(job, exc)
            raise  # the supervisor closes the printer and reopens it; AVAILABLE kicks us again
        except PrintInterrupted as exc:  # sent, then the printer stopped: the receipt may be partly on paper
            self._failed(job, exc)
            self._observe(printer.status())  # paper out mid-job: staff see it now, not at the next tick
            return False
        except PrinterNotReady as exc:  # nothing sent: it stopped being ready since this step's status
            log.info("receipt %s not sent: %s", job.receipt_number, exc.detail or exc)
            self._poll(printer)  # no attempt counted; staff see the condition now (unreachable: the supervisor)
            return False
        except Exception as exc:  # noqa: BLE001 - a bad document must not stop the queue for ever
            log.exception("printing receipt %s failed", job.receipt_number)
            self._failed(job, exc)
            return False
        finally:
            self._printing_since = None
        self._printed(job)
        return True

    def _next_job(self) -> print_queue.PrintJobView | None:
        with unit_of_work(self.factory) as session:
            jobs = print_queue.queued_jobs(session, self.kiosk_id, limit=len(self._unmarked) + 1)
        return next((j for j in jobs if j.job_id not in self._unmarked), None)

    def _printed(self, job: print_queue.PrintJobView) -> None:
        self.printed += 1
        self._unmarked[job.job_id] = job.receipt_number
        self._mark_unmarked()
        self.bus.publish(ReceiptPrinted(self.name, job.receipt_number, job.job_id, job.is_copy))

    def _mark_unmarked(self) -> None:
        for job_id, number in list(self._unmarked.items()):
            try:
                with unit_of_work(self.factory) as session:
                    print_queue.mark_printed(session, job_id)
            except Exception:  # noqa: BLE001 - the database may be away; the receipt is on paper
                log.exception("receipt %s printed but not marked yet (job %d)", number, job_id)
                return
            del self._unmarked[job_id]

    def _failed(self, job: print_queue.PrintJobView, exc: BaseException) -> None:
        self.failed_attempts += 1
        error = (exc.detail or str(exc)) if isinstance(exc, KioskError) else f"{type(exc).__name__}: {exc}"
        try:
            with unit_of_work(self.factory) as session:
                state = print_queue.mark_failed(session, job.job_id, error, self.max_attempts)
        except Exception:  # noqa: BLE001 - not counted; the job is still queued and comes back
            log.exception("could not record the failed attempt of job %d", job.job_id)
            return
        log.warning("receipt %s did not print (%s); job %d is %s", job.receipt_number, error, job.job_id, state)

    def _recent_while_printing(self) -> PrinterStatus | None:
        if self._printing_since is None or self._status is None:
            return None
        return self._status if time.monotonic() - self._status_at <= self.busy_grace else None

    def _on_health(self, event: DeviceHealthChanged) -> None:
        if event.device != self.name:
            return
        if event.health is DeviceHealth.AVAILABLE:
            self.kick()
        elif event.health is DeviceHealth.UNAVAILABLE:
            reason = event.reason or "unavailable"
            self.supervisor.worker.submit(lambda _p: self._observe(_offline(reason)))

    def _poll(self, printer: ReceiptPrinter) -> PrinterStatus:
        """A fresh status, observed; a printer that cannot be reached at all raises DeviceUnavailable, so the
        supervisor (through the worker's on_error) reports it unavailable and reopens it."""
        status = self._observe(printer.status())
        if not status.reachable:
            raise DeviceUnavailable(status.reason, device=self.name)
        return status

    def _observe(self, status: PrinterStatus) -> PrinterStatus:
        """Remember the status; publish it when it changed; record and alert when the condition changed."""
        with self._lock:
            previous, self._status, self._status_at = self._status, status, time.monotonic()
            condition, old = condition_of(status), self._condition
            self._condition = condition
        if previous is None or (previous.online, previous.paper, previous.cover_open) != \
                (status.online, status.paper, status.cover_open):
            self.bus.publish(PrinterStatusChanged(self.name, status))
        if condition is not old:
            if old is None and condition is PrinterCondition.READY:
                self._clear_standing(status)
            else:
                self._alert(old, condition, status)
        return status

    def _clear_standing(self, status: PrinterStatus) -> None:
        """First status after start is ready: an alert left standing in the database from before the
        restart (paper loaded while the kiosk was off) is cleared, so staff mode does not show it."""
        try:
            with unit_of_work(self.factory) as session:
                standing = alerts.current(session, self.kiosk_id)
                if standing is not None:
                    alerts.record(session, self.kiosk_id, self.name, PrinterCondition.READY, status.reason)
        except Exception:  # noqa: BLE001 - staff mode may show an old alert; printing goes on
            log.exception("could not look up the printer's standing alert")
            return
        if standing is not None:
            self.bus.publish(StaffAlert(self.name, standing.condition, READY_AGAIN, status.reason, cleared=True))

    def _alert(self, old: PrinterCondition | None, new: PrinterCondition, status: PrinterStatus) -> None:
        if new is PrinterCondition.READY:
            assert old is not None
            alert = StaffAlert(self.name, old, READY_AGAIN, status.reason, cleared=True)
        else:
            alert = StaffAlert(self.name, new, ALERT_MESSAGES[new], status.reason)
        log.log(logging.INFO if alert.cleared else logging.WARNING, "%s: %s %s", self.name, new, status.reason)
        try:
            with unit_of_work(self.factory) as session:
                alerts.record(session, self.kiosk_id, self.name, new, status.reason)
        except Exception:  # noqa: BLE001 - the alert still reaches the screens
            log.exception("could not record printer condition %s", new)
        self.bus.publish(alert)

    def _site(self, session: Session) -> int:
        if self._site_id is None:
            kiosk = session.get(Kiosk, self.kiosk_id)
            if kiosk is None:
                raise NotFound(f"kiosk {self.kiosk_id}")
            self._site_id = kiosk.site_id
        return self._site_id
