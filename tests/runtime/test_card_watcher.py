"""CardWatcher: CardPresented once per tap, CardRemoved when it leaves or the reader goes, jobs interleave."""
from __future__ import annotations

import time

from devices.card_reader.pn532_reader import Pn532CardReader
from devices.sim.mifare_card import VirtualMifareCard
from devices.sim.pn532_sim import SimPn532
from kiosk.ports import KeyType
from kiosk.runtime import CardWatcher, DeviceSupervisor, DeviceWorker, EventBus
from kiosk.runtime.events import CardPresented, CardRemovedEvent, DeviceEvent
from tests.runtime.conftest import Recorder

A = VirtualMifareCard(bytes.fromhex("04A1B2C3"))
B = VirtualMifareCard(bytes.fromhex("04112233445566"))


def _start(sim: SimPn532, bus: EventBus) -> tuple[DeviceSupervisor[Pn532CardReader], CardWatcher]:
    sup = DeviceSupervisor(DeviceWorker("card reader", Pn532CardReader(sim.path)), bus, backoff_cap=0.2)
    watcher = CardWatcher(sup, bus, poll_timeout=0.05)
    sup.start()
    watcher.start()
    assert sup.wait_available(2)
    return sup, watcher


def test_tap_hold_and_remove(sim: SimPn532, bus: EventBus) -> None:
    rec = Recorder(bus, DeviceEvent)
    sup, watcher = _start(sim, bus)
    rec.next()  # available
    sim.present(A)
    t = time.monotonic()
    ev = rec.next()
    assert isinstance(ev, CardPresented) and ev.tag.uid.hex == "04A1B2C3"
    assert time.monotonic() - t < 1.0
    time.sleep(0.3)  # the card stays: no new events
    assert rec.events.empty()
    sim.remove()
    ev = rec.next()
    assert isinstance(ev, CardRemovedEvent) and ev.uid_hex == "04A1B2C3"
    watcher.stop()
    sup.stop()


def test_swapping_cards_reports_removal_then_the_new_card(sim: SimPn532, bus: EventBus) -> None:
    rec = Recorder(bus, CardPresented)
    gone = Recorder(bus, CardRemovedEvent)
    sup, watcher = _start(sim, bus)
    sim.present(A)
    assert rec.next().tag.uid.hex == "04A1B2C3"  # type: ignore[attr-defined]
    sim.swap(B)
    assert gone.next().uid_hex == "04A1B2C3"  # type: ignore[attr-defined]
    assert rec.next().tag.uid.hex == "04112233445566"  # type: ignore[attr-defined]
    watcher.stop()
    sup.stop()


def test_card_jobs_run_between_polls(sim: SimPn532, bus: EventBus) -> None:
    rec = Recorder(bus, CardPresented)
    sup, watcher = _start(sim, bus)
    sim.present(VirtualMifareCard(bytes.fromhex("04A1B2C3")))
    rec.next()

    def read(reader: Pn532CardReader) -> bytes:
        tag = reader.poll(0.5)
        assert tag is not None
        reader.authenticate(4, KeyType.A, b"\xff" * 6)
        return reader.read_block(4)
    assert sup.submit(read).result(2) == bytes(16)
    watcher.stop()
    sup.stop()


def test_unplugged_reader_reports_the_card_removed(sim: SimPn532, bus: EventBus) -> None:
    rec = Recorder(bus, CardPresented)
    gone = Recorder(bus, CardRemovedEvent)
    sup, watcher = _start(sim, bus)
    sim.present(A)
    rec.next()
    sim.unplug()
    assert gone.next().uid_hex == "04A1B2C3"  # type: ignore[attr-defined]
    sim.replug()
    assert rec.next(3).tag.uid.hex == "04A1B2C3"  # type: ignore[attr-defined]
    watcher.stop()
    sup.stop()
