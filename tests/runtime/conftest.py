"""Runtime fixtures: an event bus that records, a PN532 simulator."""
from __future__ import annotations

import queue
from collections.abc import Iterator

import pytest

from devices.sim.pn532_sim import SimPn532
from kiosk.runtime.events import EventBus


class Recorder:
    """Collects events of one type in a queue so a test can wait for the next one with a timeout."""

    def __init__(self, bus: EventBus, event_type: type) -> None:
        self.events: queue.Queue[object] = queue.Queue()
        self.unsubscribe = bus.subscribe(event_type, self.events.put)

    def next(self, timeout: float = 2.0) -> object:
        return self.events.get(timeout=timeout)


@pytest.fixture
def bus() -> EventBus:
    return EventBus()


@pytest.fixture
def sim() -> Iterator[SimPn532]:
    with SimPn532() as s:
        yield s
