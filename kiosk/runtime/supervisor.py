"""DeviceSupervisor: opens a device on its worker, notices I/O failure, reopens with capped back-off, publishes health.

Any device with open()/close() works (CardReader, ReceiptPrinter, CashAcceptor). Rules:
- health starts STARTING; a successful open() makes it AVAILABLE; a failed open() or a job raising one of
  `failure_types` (DeviceUnavailable, DeviceTimeout by default) makes it UNAVAILABLE at once, closes the
  device (releasing its file descriptor) and schedules a reopen;
- reopen attempts back off from `backoff_initial` doubling to `backoff_cap` (default 1 s, so a device
  that comes back is working again within ~1 s plus one open);
- while UNAVAILABLE, jobs submitted through `submit` fail fast with DeviceUnavailable instead of queueing
  behind a dead port;
- `heartbeat(device)`, if given, runs every `heartbeat_interval` seconds while AVAILABLE and nothing else
  touches the device, so a pulled cable is noticed even when the kiosk is idle (the card watcher polls
  anyway and needs none);
- every change of health is published once as DeviceHealthChanged(device, health, reason);
- every reopen is visible: `reopen_attempt` (the next attempt's number since the device went down, 0 while it
  is up) and `next_retry_s`, a DeviceReopenScheduled event per attempt (the health file and the staff device
  page show them) and a log line per attempt (the first LOG_EVERY_ATTEMPT, then one a minute at the cap);
  the same policy for every device (reader, printer, cash acceptor, scanner), since all run under this class;
- a device down for `out_of_service_after_s` (checked at each reopen attempt, so within `backoff_cap` of the
  limit) is `out_of_service` and DeviceOutOfService is published once: only then are its features switched off
  (kiosk.flows.navigator); AVAILABLE again clears it;
- `requests` keeps the (submitted, finished) wall times of the last jobs run through `submit` (what a caller
  waited on the device for, its queue included): the journey benchmark takes that time out of a resident's wait.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Generic, Protocol, TypeVar

from kiosk.errors import DeviceTimeout, DeviceUnavailable, KioskError
from kiosk.runtime.events import (DeviceHealth, DeviceHealthChanged, DeviceOutOfService, DeviceReopenScheduled,
                                  EventBus)
from kiosk.runtime.worker import DeviceWorker

log = logging.getLogger(__name__)
T = TypeVar("T")
LOG_EVERY_ATTEMPT = 10  # attempts logged one by one; after these, one line in LOG_THEN_EVERY (a minute at 1 s)
LOG_THEN_EVERY = 60


class Openable(Protocol):
    def open(self) -> None: ...
    def close(self) -> None: ...


D = TypeVar("D", bound=Openable)


class DeviceSupervisor(Generic[D]):
    def __init__(self, worker: DeviceWorker[D], bus: EventBus, *, backoff_initial: float = 0.05,
                 backoff_cap: float = 1.0, failure_types: tuple[type[BaseException], ...] = (DeviceUnavailable,
                                                                                              DeviceTimeout),
                 heartbeat: Callable[[D], Any] | None = None, heartbeat_interval: float = 0.5,
                 out_of_service_after_s: float = 0.0) -> None:
        self.worker = worker
        self.bus = bus
        self.name = worker.name
        self.backoff_initial = backoff_initial
        self.backoff_cap = backoff_cap
        self.failure_types = failure_types
        self.heartbeat = heartbeat
        self.heartbeat_interval = heartbeat_interval
        self._health = DeviceHealth.STARTING
        self._reason = ""
        self._lock = threading.Lock()
        self._backoff = backoff_initial
        self._generation = 0  # bumps on every failure so stale scheduled jobs do nothing
        self._opened = threading.Event()
        self.open_count = 0
        self.reopen_attempt = 0  # the number of the next reopen attempt since the device went down; 0 while up
        self.next_retry_s: float | None = None  # the delay before that attempt
        self.out_of_service_after_s = out_of_service_after_s
        self.down_since: float | None = None  # monotonic: when it went down (None while up)
        self.out_of_service = False  # down for longer than out_of_service_after_s
        self.failure_count = 0
        self.requests: deque[tuple[float, float]] = deque(maxlen=256)
        worker.on_error = self._on_job_error

    # --- state --------------------------------------------------------------------------------------
    @property
    def health(self) -> DeviceHealth:
        return self._health

    @property
    def reason(self) -> str:
        return self._reason

    @property
    def available(self) -> bool:
        return self._health is DeviceHealth.AVAILABLE

    def _set_health(self, health: DeviceHealth, reason: str = "") -> None:
        with self._lock:
            if health is self._health:
                return
            self._health, self._reason = health, reason
        if health is DeviceHealth.AVAILABLE:
            self.down_since, self.out_of_service = None, False
        else:
            self._opened.clear()
            if health is DeviceHealth.UNAVAILABLE and self.down_since is None:
                self.down_since = time.monotonic()
        log.info("%s is %s %s", self.name, health, reason)
        self.bus.publish(DeviceHealthChanged(self.name, health, reason))
        if health is DeviceHealth.AVAILABLE:
            # waiters wake once the event is out: one that waits for the device and then subscribes never gets this
            # AVAILABLE late, as if it were news (a test that then unplugged the reader saw it before UNAVAILABLE)
            self._opened.set()

    def wait_available(self, timeout: float) -> bool:
        return self._opened.wait(timeout)

    # --- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        self.worker.start()
        self.worker.submit(self._try_open)

    def stop(self) -> None:
        def close(device: D) -> None:
            self._generation += 1
            self._close(device)
        fut = self.worker.submit(close)
        try:
            fut.result(timeout=5)
        except Exception:  # noqa: BLE001 - stopping must always finish
            log.debug("closing %s on stop failed", self.name, exc_info=True)
        self.worker.stop()
        self._set_health(DeviceHealth.STOPPED, "stopped")

    # --- jobs ---------------------------------------------------------------------------------------
    def submit(self, fn: Callable[[D], T]) -> Future[T]:
        """Run fn(device) on the worker; fails fast with DeviceUnavailable while the device is down."""
        submitted = time.time()

        def guarded(device: D) -> T:
            if self._health is not DeviceHealth.AVAILABLE:
                raise DeviceUnavailable(self._reason or "not open", device=self.name)
            try:
                return fn(device)
            finally:
                self.requests.append((submitted, time.time()))
        return self.worker.submit(guarded)

    def _on_job_error(self, exc: BaseException) -> None:
        # Called on the worker thread, right after the failed job.
        if isinstance(exc, self.failure_types) and self._health is DeviceHealth.AVAILABLE:
            self._fail(self.worker.device, exc)

    def _close(self, device: D) -> None:
        try:
            device.close()
        except Exception:  # noqa: BLE001 - the port may be half gone; the fd is released anyway
            log.debug("closing %s failed", self.name, exc_info=True)

    def _fail(self, device: D, exc: BaseException) -> None:
        self.failure_count += 1
        self._generation += 1
        self._close(device)
        self._set_health(DeviceHealth.UNAVAILABLE, _reason(exc))
        self._backoff = self.backoff_initial
        gen = self._generation
        self._schedule_reopen(1, self._backoff, _reason(exc))
        self.worker.submit_after(self._backoff, lambda d: self._try_open(d, gen))

    def _schedule_reopen(self, attempt: int, delay: float, reason: str) -> None:
        self.reopen_attempt, self.next_retry_s = attempt, delay
        if attempt <= LOG_EVERY_ATTEMPT or attempt % LOG_THEN_EVERY == 0:
            log.warning("%s down (%s): reopen attempt %d in %.2f s", self.name, reason, attempt, delay)
        self.bus.publish(DeviceReopenScheduled(self.name, attempt, delay, reason))
        down_for = time.monotonic() - self.down_since if self.down_since is not None else 0.0
        if not self.out_of_service and self.down_since is not None and down_for >= self.out_of_service_after_s:
            self.out_of_service = True
            log.warning("%s down for %.0f s (limit %.0f s): its features are out of service", self.name, down_for,
                        self.out_of_service_after_s)
            self.bus.publish(DeviceOutOfService(self.name, down_for, reason))

    def _try_open(self, device: D, gen: int | None = None) -> None:
        if gen is not None and gen != self._generation:
            return
        try:
            device.open()
        except Exception as exc:  # noqa: BLE001 - any failure to open means "not available"
            self._close(device)
            self._set_health(DeviceHealth.UNAVAILABLE, _reason(exc))
            self._backoff = min(self.backoff_cap, max(self.backoff_initial, self._backoff * 2))
            g = self._generation
            self._schedule_reopen(self.reopen_attempt + 1, self._backoff, _reason(exc))
            self.worker.submit_after(self._backoff, lambda d: self._try_open(d, g))
            return
        self.open_count += 1
        if self.reopen_attempt:
            log.warning("%s reopened at attempt %d", self.name, self.reopen_attempt)
        self.reopen_attempt, self.next_retry_s = 0, None
        self._backoff = self.backoff_initial
        self._set_health(DeviceHealth.AVAILABLE, "")
        if self.heartbeat is not None:
            g = self._generation
            self.worker.submit_after(self.heartbeat_interval, lambda d: self._beat(d, g))

    def _beat(self, device: D, gen: int) -> None:
        if gen != self._generation or self._health is not DeviceHealth.AVAILABLE or self.heartbeat is None:
            return
        try:
            self.heartbeat(device)
        except self.failure_types as exc:
            self._fail(device, exc)
            return
        except Exception:  # noqa: BLE001 - a heartbeat bug must not stop the heartbeat
            log.exception("heartbeat of %s failed", self.name)
        self.worker.submit_after(self.heartbeat_interval, lambda d: self._beat(d, gen))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, KioskError):
        return exc.detail or str(exc)
    return f"{type(exc).__name__}: {exc}"
