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


def test_a_tap_read_through_the_worker_gives_the_balance(sim: SimPn532, bus: EventBus) -> None:
    """The wiring the kiosk uses: CardPresented -> submit a card job -> verified image on the future."""
    import queue

    from kiosk.cards import CardApplication, CardKind, CardRecord
    app = CardApplication(bytes(range(16)))
    card = VirtualMifareCard(bytes.fromhex("04A1B2C3"))
    setup = Pn532CardReader(sim.path)
    setup.open()
    sim.present(card)
    tag = setup.poll(1.0)
    assert tag is not None
    app.write_value(setup, tag, app.issue(setup, tag, CardRecord(7, CardKind.SMART, "B-9")), 4321)
    setup.close()
    sim.remove()

    sup, watcher = _start(sim, bus)
    results: queue.Queue[object] = queue.Queue()
    bus.subscribe(CardPresented, lambda e: results.put(sup.submit(lambda r: app.read(r, e.tag))))
    sim.present(card)
    future = results.get(timeout=2)
    image = future.result(timeout=2)  # type: ignore[attr-defined]
    assert image.value_fen == 4321 and image.counter == 1 and image.record.household_ref == "B-9"
    watcher.stop()
    sup.stop()
