"""EventBus: typed subscriptions, frozen events only, a failing subscriber does not silence others."""
from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest

from kiosk.runtime.events import DeviceEvent, DeviceHealth, DeviceHealthChanged, EventBus


@dataclass
class Mutable:
    x: int


def test_subscribers_get_events_of_their_type_and_subclasses(bus: EventBus) -> None:
    health: list[object] = []
    anything: list[object] = []
    bus.subscribe(DeviceHealthChanged, health.append)
    bus.subscribe(DeviceEvent, anything.append)
    event = DeviceHealthChanged("card reader", DeviceHealth.AVAILABLE)
    bus.publish(event)
    bus.publish(DeviceEvent("printer"))
    assert health == [event] and anything == [event, DeviceEvent("printer")]


def test_unsubscribe_stops_delivery(bus: EventBus) -> None:
    got: list[object] = []
    off = bus.subscribe(DeviceEvent, got.append)
    off()
    bus.publish(DeviceEvent("x"))
    assert got == []


def test_only_frozen_dataclasses_can_be_published(bus: EventBus) -> None:
    with pytest.raises(TypeError):
        bus.publish(Mutable(1))
    with pytest.raises(TypeError):
        bus.publish("text")


def test_a_failing_subscriber_does_not_stop_the_others(bus: EventBus) -> None:
    got: list[object] = []

    def boom(_e: object) -> None:
        raise RuntimeError("subscriber bug")
    bus.subscribe(DeviceEvent, boom)
    bus.subscribe(DeviceEvent, got.append)
    bus.publish(DeviceEvent("x"))
    assert got == [DeviceEvent("x")]


def test_publishing_from_many_threads_delivers_every_event(bus: EventBus) -> None:
    got: list[object] = []
    lock = threading.Lock()

    def add(e: object) -> None:
        with lock:
            got.append(e)
    bus.subscribe(DeviceEvent, add)
    threads = [threading.Thread(target=lambda i=i: [bus.publish(DeviceEvent(f"{i}-{n}")) for n in range(200)])
               for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 1600
