"""CardWatcher: CardPresented once per tap, CardRemoved when it leaves or the reader goes, jobs interleave."""
from __future__ import annotations

import time

import pytest

from devices.card_reader.pn532_reader import Pn532CardReader
from devices.sim.mifare_card import VirtualMifareCard
from devices.sim.pn532_sim import SimPn532
from kiosk.ports import KeyType
from kiosk.runtime import CardWatcher, DeviceSupervisor, DeviceWorker, EventBus
from kiosk.runtime.events import CardPresented, CardRemovedEvent, DeviceEvent
from tests.runtime.conftest import Recorder

A = VirtualMifareCard(bytes.fromhex("04A1B2C3"))
B = VirtualMifareCard(bytes.fromhex("04112233445566"))


def _start(sim: SimPn532, bus: EventBus, **watcher_options: float) -> tuple[DeviceSupervisor[Pn532CardReader],
                                                                          CardWatcher]:
    sup = DeviceSupervisor(DeviceWorker("card reader", Pn532CardReader(sim.path)), bus, backoff_cap=0.2)
    watcher = CardWatcher(sup, bus, poll_timeout=0.05, **watcher_options)
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


# --- removal grace: a poll that misses a card which never left is not a removal ------------------------------
def _late_answer_to_one_poll(sim: SimPn532, sup: DeviceSupervisor[Pn532CardReader], watcher: CardWatcher) -> None:
    """The chip's answer to the next poll comes after the poll's deadline (as when the host stalls: in
    `kiosk demo` a long Kivy render holds the GIL and freezes the in-process simulator too), so the driver
    cancels it and that one poll comes back empty while the card lies still on the reader."""
    sim.delay_next_response(watcher.poll_timeout * 2.5)
    time.sleep(watcher.poll_timeout * 8)  # that poll, the late answer, and several polls finding the card


def test_one_empty_poll_after_a_card_job_does_not_report_a_card_that_never_left(sim: SimPn532, bus: EventBus) -> None:
    presented, gone = Recorder(bus, CardPresented), Recorder(bus, CardRemovedEvent)
    sup, watcher = _start(sim, bus)
    sim.present(VirtualMifareCard(bytes.fromhex("04A1B2C3")))
    presented.next()

    def read(reader: Pn532CardReader) -> bytes:  # a card operation on the same worker, between polls
        tag = reader.poll(0.5)
        assert tag is not None
        reader.authenticate(4, KeyType.A, b"\xff" * 6)
        return reader.read_block(4)
    assert sup.submit(read).result(2) == bytes(16)
    _late_answer_to_one_poll(sim, sup, watcher)
    assert watcher.misses_forgiven == 1  # the poll did miss it ...
    assert gone.events.empty() and presented.events.empty()  # ... and nobody was told
    assert watcher.current is not None and watcher.current.uid.hex == "04A1B2C3"
    watcher.stop()
    sup.stop()


def test_without_a_grace_period_one_late_poll_answer_reports_removal_and_a_fresh_tap(sim: SimPn532,
                                                                                    bus: EventBus) -> None:
    """What the kiosk did before the grace period (and what removal_grace=0 still does)."""
    presented, gone = Recorder(bus, CardPresented), Recorder(bus, CardRemovedEvent)
    sup, watcher = _start(sim, bus, removal_grace=0)
    sim.present(VirtualMifareCard(bytes.fromhex("04A1B2C3")))
    presented.next()
    _late_answer_to_one_poll(sim, sup, watcher)
    assert gone.next().uid_hex == "04A1B2C3"  # type: ignore[attr-defined]
    assert presented.next().tag.uid.hex == "04A1B2C3"  # type: ignore[attr-defined]
    watcher.stop()
    sup.stop()


def _hold_the_gil(seconds: float) -> None:
    """One C call that keeps the GIL (as a long Kivy render does): every Python thread stops meanwhile."""
    n, t = 200_000, time.perf_counter()
    sum(range(n))
    per_item = max(time.perf_counter() - t, 1e-6) / n
    sum(range(int(seconds / per_item)))


def test_host_stalls_longer_than_a_poll_do_not_report_the_card_removed(sim: SimPn532, bus: EventBus) -> None:
    """The demo's real cause: the in-process simulator freezes with the host, the driver's poll deadline
    passes meanwhile and that poll is cancelled empty. The grace period absorbs it."""
    presented, gone = Recorder(bus, CardPresented), Recorder(bus, CardRemovedEvent)
    sup, watcher = _start(sim, bus)
    sim.present(A)
    presented.next()
    for _ in range(5):
        _hold_the_gil(watcher.poll_timeout * 4)
        time.sleep(watcher.removal_grace * 1.5)
    assert gone.events.empty() and presented.events.empty()
    watcher.stop()
    sup.stop()


def test_card_taken_off_is_reported_removed_only_after_the_grace_period(sim: SimPn532, bus: EventBus) -> None:
    gone = Recorder(bus, CardRemovedEvent)
    sup, watcher = _start(sim, bus, removal_grace=0.3)
    presented = Recorder(bus, CardPresented)
    sim.present(A)
    presented.next()
    taken_off = time.monotonic()
    sim.remove()
    assert gone.next().uid_hex == "04A1B2C3"  # type: ignore[attr-defined]
    assert time.monotonic() - taken_off >= 0.3
    assert watcher.current is None
    watcher.stop()
    sup.stop()


def test_card_taken_off_and_tapped_again_after_the_grace_period_is_reported_again(sim: SimPn532,
                                                                                  bus: EventBus) -> None:
    presented, gone = Recorder(bus, CardPresented), Recorder(bus, CardRemovedEvent)
    sup, watcher = _start(sim, bus, removal_grace=0.2)
    sim.present(A)
    presented.next()
    sim.remove()
    assert gone.next().uid_hex == "04A1B2C3"  # type: ignore[attr-defined]
    sim.present(A)
    assert presented.next().tag.uid.hex == "04A1B2C3"  # type: ignore[attr-defined]
    watcher.stop()
    sup.stop()


def test_card_lifted_and_put_back_within_the_grace_period_is_not_reported_again(sim: SimPn532,
                                                                                bus: EventBus) -> None:
    presented, gone = Recorder(bus, CardPresented), Recorder(bus, CardRemovedEvent)
    sup, watcher = _start(sim, bus, removal_grace=1.0)
    sim.present(A)
    presented.next()
    sim.remove()
    time.sleep(0.3)  # several empty polls, all inside the grace period
    sim.present(A)
    time.sleep(0.3)
    assert gone.events.empty() and presented.events.empty()
    assert watcher.misses_forgiven == 1
    watcher.stop()
    sup.stop()


def test_another_card_during_the_grace_period_is_reported_at_once(sim: SimPn532, bus: EventBus) -> None:
    presented, gone = Recorder(bus, CardPresented), Recorder(bus, CardRemovedEvent)
    sup, watcher = _start(sim, bus, removal_grace=5.0)
    sim.present(A)
    presented.next()
    sim.remove()
    time.sleep(0.2)  # inside the grace period
    swapped = time.monotonic()
    sim.present(B)
    assert gone.next().uid_hex == "04A1B2C3"  # type: ignore[attr-defined]
    assert presented.next().tag.uid.hex == "04112233445566"  # type: ignore[attr-defined]
    assert time.monotonic() - swapped < 1.0  # long before the 5 s grace would have run out
    watcher.stop()
    sup.stop()


def test_a_negative_grace_period_is_refused(bus: EventBus) -> None:
    sup = DeviceSupervisor(DeviceWorker("card reader", Pn532CardReader("loop://")), bus)
    with pytest.raises(ValueError, match="removal_grace"):
        CardWatcher(sup, bus, removal_grace=-0.1)
