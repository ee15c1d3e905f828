"""The first rung of the self-healing ladder (docs/deploy.md): a device that stops answering is closed and reopened by
its own worker with the one back-off policy of DeviceSupervisor, every attempt visible (a DeviceReopenScheduled
event with its delay, a log line, `reopen_attempt`/`next_retry_s` in device-health.json for `kiosk doctor` and on
the staff device page), and is healthy again without any restart once it answers.

"Silent": the simulator process is SIGSTOPped, so its pty stays open and every byte sent to it goes unanswered
(a device hung on the wire), then SIGCONTed. "Gone": the simulator is SIGKILLed (the kernel closes its pty) and
its stable by-id link removed, then a new one appears on the same path."""
from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devices.card_reader.pn532_reader import Pn532CardReader
from devices.cash.cctalk_bill_validator import CctalkBillValidator
from devices.scanner.registry import build_scanner
from kiosk.app_runtime import health_file
from kiosk.app_runtime.health_file import HealthFile
from kiosk.runtime import CardWatcher, DeviceSupervisor, DeviceWorker, EventBus
from kiosk.runtime.events import DeviceHealth, DeviceHealthChanged, DeviceReopenScheduled
from tests.runtime.conftest import Recorder
from tests.runtime.test_unplug_mid_poll import CollectorPolls
from tests.support.unplug import ByIdLink, SimProcess


@pytest.fixture
def sims() -> Iterator[list[SimProcess]]:
    started: list[SimProcess] = []
    yield started
    for sim in started:
        if sim.proc.poll() is None:
            os.kill(sim.proc.pid, signal.SIGCONT)
        sim.kill()


def wait_health(rec: Recorder, health: DeviceHealth, timeout: float) -> DeviceHealthChanged:
    deadline = time.monotonic() + timeout
    while True:
        event = rec.next(max(0.01, deadline - time.monotonic()))
        assert isinstance(event, DeviceHealthChanged)
        if event.health is health:
            return event


def attempts_until(rec: Recorder, count: int, timeout: float) -> list[DeviceReopenScheduled]:
    seen: list[DeviceReopenScheduled] = []
    deadline = time.monotonic() + timeout
    while len(seen) < count:
        event = rec.next(max(0.01, deadline - time.monotonic()))
        assert isinstance(event, DeviceReopenScheduled)
        seen.append(event)
    return seen


def file_entry(data: Path, kind: str, predicate, timeout: float = 2.0) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """device-health.json's entry once it satisfies `predicate` (written by the event's next subscriber)."""
    deadline = time.monotonic() + timeout
    while True:
        entry = health_file.read(data).get(kind, {})
        if predicate(entry):
            return entry
        assert time.monotonic() < deadline, entry
        time.sleep(0.02)


def start_device(kind: str, tmp_path: Path, bus: EventBus, sims: list[SimProcess]):  # type: ignore[no-untyped-def]
    link = ByIdLink(tmp_path / "by-id" / f"usb-{kind}-if00-port0")
    if kind == "reader":
        cards = tmp_path / "cards.json"
        cards.write_text('{"cards": []}')
        sims.append(SimProcess("reader", "--cards", str(cards)))
        link.point_at(sims[-1].pty)
        sup = DeviceSupervisor(DeviceWorker("reader", Pn532CardReader(str(link))), bus)
        user = CardWatcher(sup, bus, poll_timeout=0.1)  # the kiosk polls the reader all the time
    else:
        sims.append(SimProcess("cash"))
        link.point_at(sims[-1].pty)
        sup = DeviceSupervisor(DeviceWorker("cash", CctalkBillValidator(str(link), timeout_s=0.2, retries=1)), bus)
        user = None
    sup.start()
    if user is not None:
        user.start()
    else:
        user = CollectorPolls(sup)  # started at once: polls every 150 ms, as during a cash payment
    return sup, user


@pytest.mark.parametrize("kind", ["reader", "cash"])
def test_a_device_that_goes_silent_is_reopened_with_visible_backoff_and_healthy_again_without_a_restart(
        kind: str, tmp_path: Path, bus: EventBus, sims: list[SimProcess], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="kiosk.runtime.supervisor")
    health, reopens = Recorder(bus, DeviceHealthChanged), Recorder(bus, DeviceReopenScheduled)
    data = tmp_path / "data"
    data.mkdir()
    doctor_file = HealthFile(data, bus)
    sup, user = start_device(kind, tmp_path, bus, sims)
    try:
        wait_health(health, DeviceHealth.AVAILABLE, 5)
        os.kill(sims[-1].proc.pid, signal.SIGSTOP)  # the pty stays open; nothing answers any more
        down = wait_health(health, DeviceHealth.UNAVAILABLE, 5)
        assert down.reason
        seen = attempts_until(reopens, 4, 10)
        assert [e.attempt for e in seen] == [1, 2, 3, 4]
        delays = [e.delay_s for e in seen]
        assert delays[0] == sup.backoff_initial and delays == sorted(delays)  # doubling from 0.05 s ...
        assert all(d <= sup.backoff_cap for d in delays)  # ... to the cap of 1 s
        entry = file_entry(data, kind, lambda e: e.get("reopen_attempt", 0) >= 4)  # what `kiosk doctor` reads
        assert entry["health"] == "unavailable" and entry["next_retry_s"] > 0 and entry["retry_at"]
        assert sup.reopen_attempt >= 4 and sup.next_retry_s is not None  # what the staff device page shows
        lines = [r.getMessage() for r in caplog.records if "reopen attempt" in r.getMessage()]
        assert len(lines) >= 4 and lines[0].startswith(f"{kind} down (") and "in 0.05 s" in lines[0]

        os.kill(sims[-1].proc.pid, signal.SIGCONT)  # it answers again
        back = time.monotonic()
        wait_health(health, DeviceHealth.AVAILABLE, 5)
        assert time.monotonic() - back < sup.backoff_cap + 2.5  # the next attempt after at most the cap
        assert sup.reopen_attempt == 0 and sup.next_retry_s is None
        assert file_entry(data, kind, lambda e: e.get("reopen_attempt") == 0)["health"] == "available"
        assert any("reopened at attempt" in r.getMessage() for r in caplog.records)
        ask = (lambda r: r.firmware_version()) if kind == "reader" else (lambda a: a.poll())
        sup.submit(ask).result(3)  # the device answers a job on the same worker again
        assert sup.worker.thread is not None and sup.worker.thread.is_alive()
    finally:
        user.stop()
        sup.stop()
        doctor_file.stop()


def test_a_scanner_whose_port_goes_away_and_comes_back_is_reopened_with_the_same_policy(
        tmp_path: Path, bus: EventBus, sims: list[SimProcess]) -> None:
    health, reopens = Recorder(bus, DeviceHealthChanged), Recorder(bus, DeviceReopenScheduled)
    link = ByIdLink(tmp_path / "by-id" / "usb-scanner-if00-port0")
    sims.append(SimProcess("scanner"))
    link.point_at(sims[-1].pty)
    scanner = build_scanner("serial", str(link))
    sup = DeviceSupervisor(DeviceWorker("scanner", scanner), bus, heartbeat=type(scanner).idle_check)  # as the runtime
    sup.start()
    try:
        wait_health(health, DeviceHealth.AVAILABLE, 5)
        time.sleep(0.6)
        sims[-1].kill()
        link.remove()
        wait_health(health, DeviceHealth.UNAVAILABLE, 5)
        seen = attempts_until(reopens, 3, 10)
        assert [e.attempt for e in seen] == [1, 2, 3] and seen[0].delay_s == sup.backoff_initial
        sims.append(SimProcess("scanner"))
        link.point_at(sims[-1].pty)
        wait_health(health, DeviceHealth.AVAILABLE, 5)
        assert sup.reopen_attempt == 0 and sup.open_count == 2
    finally:
        sup.stop()
