"""Fixtures: the sandbox gateway simulator, a client for it, and a notification listener feeding a queue."""
from __future__ import annotations

import queue
from collections.abc import Iterator, Mapping

import pytest

from devices.gateway.notify_listener import NotificationListener
from devices.gateway.sandbox import SandboxGateway
from devices.sim.gateway_sim import SimGateway


SECRET = "test-shared-secret"


class Inbox:
    """Notifications as the listener received them; `handler` can be swapped by a test."""

    def __init__(self) -> None:
        self.received: queue.Queue[tuple[bytes, dict[str, str]]] = queue.Queue()
        self.handler = lambda body, headers: None

    def __call__(self, body: bytes, headers: Mapping[str, str]) -> None:
        self.received.put((body, dict(headers)))
        self.handler(body, headers)

    def next(self, timeout: float = 5.0) -> tuple[bytes, dict[str, str]]:
        return self.received.get(timeout=timeout)


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def listener(inbox: Inbox) -> Iterator[NotificationListener]:
    with NotificationListener(inbox) as running:
        yield running


@pytest.fixture
def sim(listener: NotificationListener) -> Iterator[SimGateway]:
    with SimGateway(SECRET, notify_url=listener.url, notify_delay_s=0.3) as gateway:
        yield gateway


@pytest.fixture
def client(sim: SimGateway) -> SandboxGateway:
    return SandboxGateway(sim.url, SECRET, timeout_s=2.0)
