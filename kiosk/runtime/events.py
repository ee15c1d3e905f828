"""EventBus: thread-safe publish/subscribe of frozen-dataclass events, and the device events themselves.

publish() calls each subscriber synchronously on the publishing thread, in subscription order; a
subscriber that raises is logged and does not stop the others. Subscribers must be quick and must not
block (the UI bridge, for instance, only schedules a callback on the Kivy clock). Device events are
published on the device's worker thread: a subscriber may submit() a job there but must never wait for
its result, or the worker waits on itself. Subscribing to a base class receives its subclasses too.
"""
from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from kiosk.ports import Tag

log = logging.getLogger(__name__)
E = TypeVar("E")


class DeviceHealth(StrEnum):
    STARTING = "starting"
    AVAILABLE = "available"
    UNAVAILABLE = "unavailable"
    STOPPED = "stopped"


@dataclass(frozen=True)
class DeviceEvent:
    device: str


@dataclass(frozen=True)
class DeviceHealthChanged(DeviceEvent):
    health: DeviceHealth
    reason: str = ""


@dataclass(frozen=True)
class DeviceReopenScheduled(DeviceEvent):
    """A device that is down will be opened again in `delay_s` seconds: `attempt` is the number of that next
    attempt since it went down, `reason` what the last one (or the failure) said. Published on every attempt."""

    attempt: int
    delay_s: float
    reason: str = ""


@dataclass(frozen=True)
class DeviceOutOfService(DeviceEvent):
    """A device has been down longer than its limit (`devices.out_of_service_after_s`): the features that need it
    are out of service until it is available again (DeviceHealthChanged AVAILABLE). `health` is the word the
    screens' navigator reads (kiosk.flows.navigator.device_changed); not a DeviceHealthChanged, so the
    subscribers of those (health file, spooler, card watcher) see no extra change."""

    down_for_s: float
    reason: str = ""
    health: str = "out_of_service"


@dataclass(frozen=True)
class CardPresented(DeviceEvent):
    tag: Tag


@dataclass(frozen=True)
class CardRemovedEvent(DeviceEvent):
    """The card that was presented has left the reader (named to avoid kiosk.errors.CardRemoved)."""

    uid_hex: str = ""


@dataclass(frozen=True)
class CardVerified(DeviceEvent):
    """A tapped card's data was read and checked against the ledger (CardStation.check_tap): the end of the tap
    latency the card watcher measures for the heartbeat (docs/office.md)."""

    uid_hex: str = ""


CardRemoved = CardRemovedEvent  # the name the issue uses; import it as CardRemovedEvent next to kiosk.errors


class EventBus:
    """Publish/subscribe by event type. Only frozen dataclass instances may be published."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: list[tuple[type, Callable[[Any], None]]] = []

    def subscribe(self, event_type: type[E], callback: Callable[[E], None]) -> Callable[[], None]:
        """Call `callback(event)` for every published instance of `event_type`; returns an unsubscribe."""
        entry = (event_type, callback)
        with self._lock:
            self._subs.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._subs:
                    self._subs.remove(entry)
        return unsubscribe

    def publish(self, event: object) -> None:
        if not dataclasses.is_dataclass(event) or isinstance(event, type) \
                or not type(event).__dataclass_params__.frozen:  # type: ignore[attr-defined]
            raise TypeError(f"events are frozen dataclass instances, got {type(event).__name__}")
        with self._lock:
            subs = [cb for t, cb in self._subs if isinstance(event, t)]
        for cb in subs:
            try:
                cb(event)
            except Exception:  # noqa: BLE001 - one bad subscriber must not silence the others
                log.exception("event subscriber %r failed on %r", cb, event)
