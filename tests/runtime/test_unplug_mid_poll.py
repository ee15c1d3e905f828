"""Each simulated serial device unplugged while it is being polled: its simulator process is SIGKILLed under the
open port (the kernel closes the pty master, as when a USB-serial adapter is pulled), the supervisor reports it
unavailable (what the kiosk's device health shows), and reopens it once a new simulator is on the same by-id path.

The serial printer's case runs through the print spooler: tests/printing/test_serial_printer_unplugged.py.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

import pytest

from devices.card_reader.pn532_reader import Pn532CardReader
from devices.cash.cctalk_bill_validator import CctalkBillValidator
from kiosk.app_runtime.runtime import HEALTH
from kiosk.errors import DeviceUnavailable
from kiosk.flows.records import DeviceState
from kiosk.runtime import CardWatcher, DeviceSupervisor, DeviceWorker, EventBus
from kiosk.runtime.events import CardPresented, CardRemovedEvent, DeviceHealth, DeviceHealthChanged
from tests.runtime.conftest import Recorder
from tests.support.unplug import ByIdLink, SimProcess

UID = "04A1B2C3"


def _next_health(rec: Recorder, timeout: float = 3.0) -> DeviceHealthChanged:
    event = rec.next(timeout)
    assert isinstance(event, DeviceHealthChanged)
    return event


@pytest.fixture
def sims() -> Iterator[list[SimProcess]]:
    started: list[SimProcess] = []
    yield started
    for sim in started:
        sim.kill()


def test_reader_killed_mid_poll_is_unavailable_then_reopened_on_the_same_path(
        tmp_path: Path, bus: EventBus, sims: list[SimProcess]) -> None:
    cards = tmp_path / "cards.json"
    cards.write_text(f'{{"cards": [{{"uid": "{UID}"}}]}}')
    link = ByIdLink(tmp_path / "by-id" / "usb-NXP_PN532-if00-port0")
    sims.append(SimProcess("reader", "--cards", str(cards)))
    link.point_at(sims[-1].pty)
    health = Recorder(bus, DeviceHealthChanged)
    taps = Recorder(bus, CardPresented)
    removals = Recorder(bus, CardRemovedEvent)
    sup = DeviceSupervisor(DeviceWorker("reader", Pn532CardReader(str(link))), bus, backoff_cap=0.2)
    watcher = CardWatcher(sup, bus, poll_timeout=0.1)  # the kiosk's poller: one InListPassiveTarget after another
    sup.start()
    watcher.start()
    try:
        assert _next_health(health).health is DeviceHealth.AVAILABLE
        tap = taps.next(3)
        assert isinstance(tap, CardPresented) and tap.tag.uid.hex == UID

        sims[-1].kill()  # mid-poll: the watcher has a command out to the chip all the time
        link.remove()
        killed = time.monotonic()
        down = _next_health(health)
        assert down.health is DeviceHealth.UNAVAILABLE and time.monotonic() - killed < 2.0
        assert HEALTH[sup.health] is DeviceState.DOWN  # what the kiosk's device health shows
        gone = removals.next(1)
        assert isinstance(gone, CardRemovedEvent) and gone.uid_hex == UID  # no grace for a reader that is gone
        with pytest.raises(DeviceUnavailable):
            sup.submit(lambda r: r.firmware_version()).result(1)  # fails fast, never queues behind a dead port

        sims.append(SimProcess("reader", "--cards", str(cards)))
        link.point_at(sims[-1].pty)
        back = time.monotonic()
        assert _next_health(health).health is DeviceHealth.AVAILABLE and time.monotonic() - back < 2.0
        assert HEALTH[sup.health] is DeviceState.OK
        again = taps.next(3)
        assert isinstance(again, CardPresented) and again.tag.uid.hex == UID
        assert sup.open_count == 2 and sup.failure_count == 1
    finally:
        watcher.stop()
        sup.stop()


class CollectorPolls:
    """Polls the validator through the supervisor every 150 ms, as the cash collector does during a payment."""

    def __init__(self, sup: DeviceSupervisor[CctalkBillValidator]) -> None:
        self.sup = sup
        self.polls = 0
        self.refused: list[Exception] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="test-cash-poller", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.15):
            try:
                self.sup.submit(lambda acceptor: acceptor.poll()).result(2)
                self.polls += 1
            except FutureTimeout:
                pass
            except Exception as exc:  # noqa: BLE001 - kept: each must be a DeviceUnavailable the collector can show
                self.refused.append(exc)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(3)


def test_banknote_validator_killed_mid_poll_is_unavailable_then_reopened_on_the_same_path(
        tmp_path: Path, bus: EventBus, sims: list[SimProcess]) -> None:
    link = ByIdLink(tmp_path / "by-id" / "usb-FTDI_ccTalk-if00-port0")
    sims.append(SimProcess("cash"))
    link.point_at(sims[-1].pty)
    health = Recorder(bus, DeviceHealthChanged)
    sup = DeviceSupervisor(DeviceWorker("cash", CctalkBillValidator(str(link), timeout_s=0.2, retries=1)), bus,
                           backoff_cap=0.2)
    sup.start()
    poller = CollectorPolls(sup)
    try:
        assert _next_health(health).health is DeviceHealth.AVAILABLE
        deadline = time.monotonic() + 3
        while poller.polls < 3:
            assert time.monotonic() < deadline, "no polls answered"
            time.sleep(0.05)

        sims[-1].kill()
        link.remove()
        killed = time.monotonic()
        down = _next_health(health)
        assert down.health is DeviceHealth.UNAVAILABLE and time.monotonic() - killed < 2.0
        assert str(link) in down.reason  # one readable line naming the port, e.g. "... Input/output error (EIO)"
        assert HEALTH[sup.health] is DeviceState.DOWN

        sims.append(SimProcess("cash"))
        link.point_at(sims[-1].pty)
        back = time.monotonic()
        assert _next_health(health).health is DeviceHealth.AVAILABLE and time.monotonic() - back < 2.0
        polled = poller.polls
        deadline = time.monotonic() + 3
        while poller.polls < polled + 2:
            assert time.monotonic() < deadline, "no polls answered after the reopen"
            time.sleep(0.05)
        assert HEALTH[sup.health] is DeviceState.OK
        assert sup.open_count == 2 and sup.failure_count == 1
        assert all(isinstance(e, DeviceUnavailable) for e in poller.refused)  # never a raw termios.error
    finally:
        poller.stop()
        sup.stop()
