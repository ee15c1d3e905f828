"""DeviceWorker: one thread owns one device and runs jobs on it from a queue, in order.

Jobs are callables taking the device; `submit(fn)` returns a concurrent.futures.Future with the
result or the exception. `submit_after(delay, fn)` runs a job later (back-off, polling loops) without
a sleeping thread: the worker waits on its queue with a timeout equal to the next due job. A job that
raises is reported through the Future and to `on_error` (the supervisor uses it to notice I/O failure);
the worker thread itself never dies from a job. Only the worker thread touches the device.

A job running longer than `stuck_limit_s` makes the worker stuck (`stuck_for()`); the app's systemd watchdog
(kiosk.runtime.service_watchdog) stops its pings while any started worker is stuck, so systemd restarts the kiosk.
"""
from __future__ import annotations

import heapq
import itertools
import logging
import queue
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)
D = TypeVar("D")
T = TypeVar("T")
Job = Callable[[Any], Any]
STUCK_LIMIT_S = 20.0  # longer than any one device job takes (each driver has its own timeouts of a few seconds)
_LIVE: weakref.WeakSet[DeviceWorker[Any]] = weakref.WeakSet()


def live_workers() -> list[DeviceWorker[Any]]:
    """The workers started in this process and not stopped."""
    return list(_LIVE)


class WorkerStopped(RuntimeError):
    """A job was submitted to, or still queued in, a worker that has stopped."""


class DeviceWorker(Generic[D]):
    def __init__(self, name: str, device: D, *, on_error: Callable[[BaseException], None] | None = None,
                 stuck_limit_s: float = STUCK_LIMIT_S) -> None:
        self.name = name
        self.stuck_limit_s = stuck_limit_s
        self._job_started: float | None = None  # monotonic start of the job running now
        self.device = device
        self.on_error = on_error
        self._queue: queue.Queue[tuple[Future[Any], Job] | None] = queue.Queue()
        self._timed: list[tuple[float, int, Future[Any], Job]] = []
        self._timed_lock = threading.Lock()
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def busy_for(self) -> float:
        """Seconds the job running now has run (0 when idle)."""
        started = self._job_started
        return 0.0 if started is None else max(0.0, time.monotonic() - started)

    def stuck_for(self) -> float:
        """Seconds the job running now has run, when that is past `stuck_limit_s`; else 0."""
        busy = self.busy_for()
        return busy if busy > self.stuck_limit_s else 0.0

    def on_worker_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name=f"device-{self.name}", daemon=True)
        self._thread.start()
        _LIVE.add(self)

    def submit(self, fn: Callable[[D], T]) -> Future[T]:
        fut: Future[T] = Future()
        if self._stopping.is_set():
            fut.set_exception(WorkerStopped(f"{self.name} worker is stopped"))
            return fut
        self._queue.put((fut, fn))
        return fut

    def submit_after(self, delay: float, fn: Callable[[D], T]) -> Future[T]:
        fut: Future[T] = Future()
        if self._stopping.is_set():
            fut.set_exception(WorkerStopped(f"{self.name} worker is stopped"))
            return fut
        with self._timed_lock:
            heapq.heappush(self._timed, (time.monotonic() + max(0.0, delay), next(self._seq), fut, fn))
        self._queue.put(None)  # wake the worker so it recomputes its wait
        return fut

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the job in progress; queued jobs fail with WorkerStopped."""
        self._stopping.set()
        _LIVE.discard(self)
        self._queue.put(None)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _due(self) -> tuple[list[tuple[Future[Any], Job]], float | None]:
        now = time.monotonic()
        ready = []
        with self._timed_lock:
            while self._timed and self._timed[0][0] <= now:
                _, _, fut, fn = heapq.heappop(self._timed)
                ready.append((fut, fn))
            wait = self._timed[0][0] - now if self._timed else None
        return ready, wait

    def _run_job(self, fut: Future[Any], fn: Job) -> None:
        if not fut.set_running_or_notify_cancel():
            return
        self._job_started = time.monotonic()
        try:
            result = fn(self.device)
        except BaseException as exc:  # noqa: BLE001 - reported through the Future
            self._job_started = None
            fut.set_exception(exc)
            if self.on_error is not None:
                try:
                    self.on_error(exc)
                except Exception:  # noqa: BLE001
                    log.exception("on_error handler of %s failed", self.name)
        else:
            self._job_started = None
            fut.set_result(result)

    def _run(self) -> None:
        while not self._stopping.is_set():
            ready, wait = self._due()
            for fut, fn in ready:
                self._run_job(fut, fn)
                if self._stopping.is_set():
                    break
            if ready:
                wait = 0.0
            try:
                item = self._queue.get(timeout=wait) if wait != 0.0 else self._queue.get_nowait()
            except queue.Empty:
                continue
            if item is not None and not self._stopping.is_set():
                self._run_job(*item)
            elif item is not None and item[0].set_running_or_notify_cancel():
                item[0].set_exception(WorkerStopped(f"{self.name} worker is stopped"))
        self._drain()

    def _drain(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None and item[0].set_running_or_notify_cancel():
                item[0].set_exception(WorkerStopped(f"{self.name} worker is stopped"))
        with self._timed_lock:
            timed, self._timed = self._timed, []
        for _, _, fut, _ in timed:
            if fut.set_running_or_notify_cancel():
                fut.set_exception(WorkerStopped(f"{self.name} worker is stopped"))
