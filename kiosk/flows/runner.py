"""Runs blocking service calls off the UI thread with a timeout and cancel; results come back via `post`."""
from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from kiosk.errors import KioskError, RequestTimedOut

log = logging.getLogger(__name__)

Post = Callable[[Callable[[], None]], None]


class UnexpectedError(Exception):
    """A non-KioskError escaped a service call; re-raised on the UI thread for the last-resort handler."""

    def __init__(self, reference: str, original: BaseException) -> None:
        super().__init__(f"unexpected error, reference {reference}: {original!r}")
        self.reference = reference
        self.original = original


@dataclass
class Job:
    """A submitted call. `cancel()` stops waiting: the result, if it ever comes, is dropped."""

    label: str
    on_cancel: Callable[[], None] | None = None
    finished: bool = False
    cancelled: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def claim(self) -> bool:
        """True for the first of result / timeout / cancel; later ones are ignored."""
        with self._lock:
            if self.finished:
                return False
            self.finished = True
            return True

    def cancel(self) -> bool:
        if not self.claim():
            return False
        self.cancelled = True
        if self.on_cancel is not None:
            self.on_cancel()
        return True


class Runner(Protocol):
    def post(self, fn: Callable[[], None]) -> None:
        """Run `fn` on the UI thread (used for progress reported by a worker)."""

    def submit(self, label: str, fn: Callable[[], Any], on_done: Callable[[Any], None],
               on_error: Callable[[KioskError], None], timeout_s: float,
               on_cancel: Callable[[], None] | None = None) -> Job: ...


class InlineRunner:
    """Runs the call at once on the caller's thread (flow tests); `defer=True` queues it for `run_pending`."""

    def __init__(self, defer: bool = False) -> None:
        self.defer = defer
        self.post: Callable[[Callable[[], None]], None] = lambda fn: fn()
        self.pending: list[tuple[Job, Callable[[], None], Callable[[KioskError], None]]] = []

    def submit(self, label: str, fn: Callable[[], Any], on_done: Callable[[Any], None],
               on_error: Callable[[KioskError], None], timeout_s: float,
               on_cancel: Callable[[], None] | None = None) -> Job:
        job = Job(label, on_cancel)

        def run() -> None:
            try:
                result = fn()
            except KioskError as exc:
                if job.claim():
                    on_error(exc)
                return
            if job.claim():
                on_done(result)

        if self.defer:
            self.pending.append((job, run, on_error))
        else:
            run()
        return job

    def run_pending(self) -> None:
        while self.pending:
            _, run, _ = self.pending.pop(0)
            run()

    def expire_pending(self) -> None:
        """Behave as if every pending call hit its timeout."""
        jobs, self.pending = self.pending, []
        for job, _, on_error in jobs:
            if job.claim():
                on_error(RequestTimedOut(job.label))


ANSWER_WAIT_S = 0.08  # how long submit() waits for a quick answer before the screen draws the call's progress


class ThreadRunner:
    """A small worker pool; every outcome (done, error, timeout) is delivered through `post` on the UI thread.

    `submit` waits up to `answer_wait_s` for the call to finish: most calls (a household's bills, a page of
    records, the printer check) take a few milliseconds, and their answer is then posted before the UI thread
    returns, so the screen's next frame already shows it (the bridge runs posted work before each frame) instead
    of a frame of "loading" first. Under software rendering a frame of a portrait page costs tens of
    milliseconds, so that frame is most of what a resident would wait. A longer call (a payment) shows its
    progress after the short wait, as before."""

    def __init__(self, post: Post, max_workers: int = 2, answer_wait_s: float = ANSWER_WAIT_S) -> None:
        self._post = post
        self.post = post
        self.answer_wait_s = answer_wait_s
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="kiosk-call")

    def submit(self, label: str, fn: Callable[[], Any], on_done: Callable[[Any], None],
               on_error: Callable[[KioskError], None], timeout_s: float,
               on_cancel: Callable[[], None] | None = None) -> Job:
        job = Job(label, on_cancel)
        timer = threading.Timer(timeout_s, lambda: self._post(lambda: job.claim() and on_error(
            RequestTimedOut(label))))
        timer.daemon = True
        answered = threading.Event()  # set once the outcome is posted (not merely computed)

        def finished(future: Future[Any]) -> None:
            try:
                deliver(future)
            finally:
                answered.set()

        def deliver(future: Future[Any]) -> None:
            timer.cancel()
            exc = future.exception()
            if exc is None:
                result = future.result()
                self._post(lambda: job.claim() and on_done(result))
            elif isinstance(exc, KioskError):
                self._post(lambda: job.claim() and on_error(exc))
            else:
                reference = uuid.uuid4().hex[:8].upper()
                log.error("service call %s failed, reference %s", label, reference, exc_info=exc)

                def raise_on_ui() -> None:
                    if job.claim():
                        raise UnexpectedError(reference, exc) from exc
                self._post(raise_on_ui)

        timer.start()
        self._pool.submit(fn).add_done_callback(finished)
        if self.answer_wait_s > 0:
            answered.wait(self.answer_wait_s)
        return job

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
