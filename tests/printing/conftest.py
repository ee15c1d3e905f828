"""Fixtures for the spooler tests: a mini estate on SQLite and PostgreSQL, the real driver against SimPrinter over TCP."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from devices.printer.registry import build_receipt_printer
from devices.sim.escpos_sim import SimPrinter
from kiosk.domain.terms import PaymentMethod
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import PrintJob
from kiosk.printing import PrintSpooler
from kiosk.runtime import DeviceSupervisor, DeviceWorker, EventBus
from kiosk.runtime.events import DeviceEvent
from kiosk.services import payments
from tests.support import estate


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimPrinter]:
    printer = SimPrinter(tmp_path / "receipts", port=0).start()
    try:
        yield printer
    finally:
        printer.stop()


@pytest.fixture
def mini(factory: sessionmaker[Session]) -> estate.MiniEstate:
    with unit_of_work(factory) as s:
        return estate.build(s, households=2, bills_each=3)


class Events:
    """Every device event published on the bus, kept in order; a test waits for the one it expects."""

    def __init__(self, bus: EventBus) -> None:
        self.seen: list[object] = []
        self._changed = threading.Condition()
        self.unsubscribe = bus.subscribe(DeviceEvent, self._add)

    def _add(self, event: object) -> None:
        with self._changed:
            self.seen.append(event)
            self._changed.notify_all()

    def of(self, event_type: type, **match: object) -> list:
        with self._changed:
            return [e for e in self.seen if isinstance(e, event_type)
                    and all(getattr(e, k) == v for k, v in match.items())]

    def wait(self, event_type: type, timeout: float = 5.0, **match: object):
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [e for e in self.seen if isinstance(e, event_type)
                         and all(getattr(e, k) == v for k, v in match.items())]
                if found:
                    return found[-1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {event_type.__name__} {match} within {timeout} s; saw {self.seen}")
                self._changed.wait(left)


@dataclass
class Rig:
    sim: SimPrinter
    factory: sessionmaker[Session]
    mini: estate.MiniEstate
    bus: EventBus
    events: Events
    supervisor: DeviceSupervisor
    spooler: PrintSpooler

    def pay(self, bill_index: int = 0, household: int = 0, language: str = "en") -> payments.PaymentOutcome:
        """A bill paid from the household's card; its receipt is queued in the payment's transaction."""
        hh = self.mini.household_ids[household]
        key = f"pay-{hh}-{bill_index}"
        return payments.pay_bills(self.factory, self.mini.till, key=key, household_id=hh,
                                  bill_ids=[self.mini.bill_ids[hh][bill_index]], method=PaymentMethod.CARD,
                                  card_id=self.mini.card_ids[hh], language=language)

    def jobs(self) -> list[tuple[str, int, str]]:
        """(status, attempts, last_error) of every print job, oldest first."""
        with unit_of_work(self.factory) as s:
            return [(j.status, j.attempts, j.last_error) for j in s.scalars(select(PrintJob).order_by(PrintJob.id))]

    def steps_pass(self, count: int = 3, timeout: float = 10.0) -> None:
        """Wait until the spooler has finished `count` more steps (timer ticks or kicks)."""
        target = self.spooler.steps + count
        eventually(lambda: self.spooler.steps >= target, timeout, f"{count} spooler steps")


def eventually(check: Callable[[], object], timeout: float = 5.0, what: str = "condition") -> object:
    """Poll `check` (a database read, a counter) until it is truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s (last: {value!r})")
        time.sleep(0.02)


@pytest.fixture
def make_rig(sim: SimPrinter, factory: sessionmaker[Session], mini: estate.MiniEstate) -> Iterator[Callable[..., Rig]]:
    rigs: list[Rig] = []

    def make(interval: float = 0.1, wait_open: bool = True, printer: SimPrinter | None = None, url: str = "",
             status_timeout: float = 0.8, **options: object) -> Rig:
        """A started supervisor + spooler on `url` (default: the TCP port of `printer`, default `sim`)."""
        printer = printer or sim
        bus = EventBus()
        events = Events(bus)
        # status_timeout: the simulator runs in the test process and renders each job before it answers the
        # status after it; on a loaded CI machine 0.3 s was not always enough and a printed job was retried
        driver = build_receipt_printer("escpos", url or printer.url, columns=48, width_dots=576,
                                       status_timeout=status_timeout, timeout=2.0)
        supervisor = DeviceSupervisor(DeviceWorker("printer", driver), bus, backoff_cap=0.2)
        spooler = PrintSpooler(supervisor, factory, mini.till.kiosk_id, bus, interval=interval, **options)
        supervisor.start()
        spooler.start()
        if wait_open:
            assert supervisor.wait_available(3)
        rig = Rig(printer, factory, mini, bus, events, supervisor, spooler)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.spooler.stop()
        rig.supervisor.stop()

