"""DeviceWorker: one thread, jobs in order, results and errors through futures, timed jobs, clean stop."""
from __future__ import annotations

import threading
import time

import pytest

from kiosk.runtime.worker import DeviceWorker, WorkerStopped


class Thing:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []


def test_jobs_run_in_order_on_the_worker_thread() -> None:
    thing = Thing()
    w = DeviceWorker("thing", thing)
    w.start()
    futures = [w.submit(lambda d, i=i: d.calls.append((str(i), threading.current_thread().name)) or i)
               for i in range(50)]
    assert [f.result(2) for f in futures] == list(range(50))
    assert [c[0] for c in thing.calls] == [str(i) for i in range(50)]
    assert {c[1] for c in thing.calls} == {"device-thing"}
    w.stop()


def test_a_job_error_reaches_the_future_and_on_error_and_the_worker_survives() -> None:
    errors: list[BaseException] = []
    w = DeviceWorker("thing", Thing(), on_error=errors.append)
    w.start()

    def bad(_d: Thing) -> None:
        raise ValueError("boom")
    with pytest.raises(ValueError):
        w.submit(bad).result(2)
    assert w.submit(lambda d: 42).result(2) == 42
    assert len(errors) == 1 and isinstance(errors[0], ValueError)
    w.stop()


def test_submit_after_runs_later_without_blocking_other_jobs() -> None:
    w = DeviceWorker("thing", Thing())
    w.start()
    t0 = time.monotonic()
    later = w.submit_after(0.2, lambda d: time.monotonic())
    now = w.submit(lambda d: time.monotonic())
    assert now.result(1) - t0 < 0.1
    assert later.result(1) - t0 >= 0.2
    w.stop()


def test_stop_fails_queued_jobs_and_later_submissions() -> None:
    w = DeviceWorker("thing", Thing())
    w.start()
    gate = threading.Event()
    w.submit(lambda d: gate.wait(2))
    queued = w.submit(lambda d: 1)
    timed = w.submit_after(10, lambda d: 1)
    threading.Timer(0.05, gate.set).start()
    w.stop()
    with pytest.raises(WorkerStopped):
        queued.result(1)
    with pytest.raises(WorkerStopped):
        timed.result(1)
    with pytest.raises(WorkerStopped):
        w.submit(lambda d: 1).result(1)
    assert w.thread is not None and not w.thread.is_alive()
