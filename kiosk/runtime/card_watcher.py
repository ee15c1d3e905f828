"""CardWatcher: a job loop on the reader's worker that polls for cards and publishes CardPresented / CardRemoved.

Each poll is one short job (`poll_timeout` seconds), re-queued behind whatever else is waiting, so card
operations submitted by flows run between polls on the same thread and never race the watcher. A card
that stays on the reader is reported once; CardRemoved follows when a poll no longer finds it, or when
the reader becomes unavailable. Errors from a poll are handed to the supervisor (through the worker's
on_error) and the loop waits for the device to come back.
"""
from __future__ import annotations

import logging
import threading

from kiosk.errors import KioskError
from kiosk.ports import CardReader, Tag
from kiosk.runtime.events import CardPresented, CardRemovedEvent, DeviceHealth, DeviceHealthChanged, EventBus
from kiosk.runtime.supervisor import DeviceSupervisor

log = logging.getLogger(__name__)


class CardWatcher:
    def __init__(self, supervisor: DeviceSupervisor[CardReader], bus: EventBus, *, poll_timeout: float = 0.1,
                 idle_retry: float = 0.1) -> None:
        self.supervisor = supervisor
        self.bus = bus
        self.poll_timeout = poll_timeout
        self.idle_retry = idle_retry
        self._tag: Tag | None = None
        self._running = threading.Event()
        self._unsubscribe = bus.subscribe(DeviceHealthChanged, self._on_health)

    @property
    def current(self) -> Tag | None:
        return self._tag

    def start(self) -> None:
        self._running.set()
        self.supervisor.worker.submit(self._step)

    def stop(self) -> None:
        self._running.clear()
        self._unsubscribe()

    def _on_health(self, event: DeviceHealthChanged) -> None:
        if event.device == self.supervisor.name and event.health is not DeviceHealth.AVAILABLE:
            self._gone()

    def _gone(self) -> None:
        tag, self._tag = self._tag, None
        if tag is not None:
            self.bus.publish(CardRemovedEvent(self.supervisor.name, tag.uid.hex))

    def _step(self, reader: CardReader) -> None:
        if not self._running.is_set():
            return
        if not self.supervisor.available:
            self.supervisor.worker.submit_after(self.idle_retry, self._step)
            return
        try:
            tag = reader.poll(self.poll_timeout)
        except KioskError as exc:
            log.debug("card poll failed: %s", exc)
            self.supervisor.worker.submit_after(self.idle_retry, self._step)
            raise  # the worker hands it to the supervisor, which decides whether the device failed
        if tag is None:
            self._gone()
        elif self._tag is None or self._tag.uid != tag.uid:
            self._gone()
            self._tag = tag
            self.bus.publish(CardPresented(self.supervisor.name, tag))
        self.supervisor.worker.submit(self._step)
