"""DeviceSupervisor on the PN532 simulator: health within 2 s both ways, back-off, and 100 unplug/replug cycles."""
from __future__ import annotations

import os
import threading
import time

import pytest

from devices.card_reader.pn532_reader import Pn532CardReader
from devices.sim.pn532_sim import SimPn532
from kiosk.errors import DeviceUnavailable
from kiosk.runtime import CardWatcher, DeviceSupervisor, DeviceWorker, EventBus
from kiosk.runtime.events import DeviceHealth, DeviceHealthChanged
from tests.runtime.conftest import Recorder


def _supervised(sim: SimPn532, bus: EventBus, **kw: object) -> DeviceSupervisor[Pn532CardReader]:
    return DeviceSupervisor(DeviceWorker("card reader", Pn532CardReader(sim.path)), bus, **kw)  # type: ignore[arg-type]


def _health(rec: Recorder, timeout: float) -> DeviceHealth:
    event = rec.next(timeout)
    assert isinstance(event, DeviceHealthChanged)
    return event.health


def test_open_publishes_available(sim: SimPn532, bus: EventBus) -> None:
    rec = Recorder(bus, DeviceHealthChanged)
    sup = _supervised(sim, bus)
    sup.start()
    assert _health(rec, 2) is DeviceHealth.AVAILABLE
    assert sup.submit(lambda r: r.firmware_version()).result(2).startswith("PN532")
    sup.stop()
    assert _health(rec, 2) is DeviceHealth.STOPPED


def test_a_waiter_for_the_device_wakes_only_once_its_available_event_is_out(sim: SimPn532, bus: EventBus) -> None:
    """Whoever waits for the device and then subscribes (the runtime's tests, a technician's device check) must not
    be handed that AVAILABLE afterwards as if it were news: subscribers hear it before any waiter wakes."""
    sup = _supervised(sim, bus)
    woken_before_event: list[bool] = []
    bus.subscribe(DeviceHealthChanged, lambda e: woken_before_event.append(sup.wait_available(0))
                  if e.health is DeviceHealth.AVAILABLE else None)
    sup.start()
    try:
        assert sup.wait_available(5)
        assert woken_before_event == [False]  # still asleep while the event was being delivered
    finally:
        sup.stop()


def test_pulled_cable_is_unavailable_within_2s_and_back_within_2s_of_replug(sim: SimPn532, bus: EventBus) -> None:
    rec = Recorder(bus, DeviceHealthChanged)
    sup = _supervised(sim, bus, heartbeat=lambda r: r.firmware_version() and r.cmd.get_firmware_version(),
                      heartbeat_interval=0.5)
    sup.start()
    assert _health(rec, 2) is DeviceHealth.AVAILABLE
    time.sleep(0.6)  # idle kiosk: only the heartbeat touches the reader
    sim.unplug()
    t = time.monotonic()
    assert _health(rec, 2) is DeviceHealth.UNAVAILABLE
    assert time.monotonic() - t < 2.0
    with pytest.raises(DeviceUnavailable):
        sup.submit(lambda r: r.firmware_version()).result(1)
    time.sleep(1.5)  # back-off has grown to its cap meanwhile
    sim.replug()
    t = time.monotonic()
    assert _health(rec, 2) is DeviceHealth.AVAILABLE
    assert time.monotonic() - t < 2.0
    sup.stop()


def test_a_reader_that_never_answers_stays_unavailable_with_a_reason(bus: EventBus) -> None:
    master, slave = os.openpty()
    try:
        rec = Recorder(bus, DeviceHealthChanged)
        sup = DeviceSupervisor(DeviceWorker("card reader", Pn532CardReader(os.ttyname(slave))), bus,
                               backoff_cap=0.2)
        sup.start()
        event = rec.next(3)
        assert isinstance(event, DeviceHealthChanged) and event.health is DeviceHealth.UNAVAILABLE
        assert "no PN532 answered" in event.reason
        sup.stop()
    finally:
        os.close(master)
        os.close(slave)


def _terminals_open() -> int:
    """This process's open descriptors of pseudo-terminals (the reader's serial line): not every descriptor, since
    other parts of one pytest process open and close theirs at any moment (a database test's connections made ahead
    on a thread, tests/support/databases.py; a stray connection closed when the collector finds it)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith(("/dev/pts/", "/dev/ptmx"))
        except OSError:  # closed meanwhile (the listing's own)
            pass
    return count


@pytest.mark.slow
def test_100_unplug_replug_cycles_leak_no_thread_or_file_descriptor(sim: SimPn532, bus: EventBus) -> None:
    rec = Recorder(bus, DeviceHealthChanged)
    sup = _supervised(sim, bus, backoff_cap=0.2)
    watcher = CardWatcher(sup, bus, poll_timeout=0.05)
    sup.start()
    watcher.start()
    try:  # stopped whatever happens: a supervisor left running would log into the next tests' captures
        assert _health(rec, 2) is DeviceHealth.AVAILABLE
        time.sleep(0.1)
        terminals = _terminals_open()
        assert terminals >= 1  # the reader's line, open
        threads = threading.active_count()
        worst_down = worst_up = 0.0
        for _ in range(100):
            sim.unplug()
            t = time.monotonic()
            assert _health(rec, 2) is DeviceHealth.UNAVAILABLE
            worst_down = max(worst_down, time.monotonic() - t)
            sim.replug()
            t = time.monotonic()
            assert _health(rec, 2) is DeviceHealth.AVAILABLE
            worst_up = max(worst_up, time.monotonic() - t)
        time.sleep(0.1)
        assert _terminals_open() == terminals
        assert threading.active_count() == threads
        assert worst_down < 2.0 and worst_up < 2.0
        assert sup.open_count == 101
    finally:
        watcher.stop()
        sup.stop()
