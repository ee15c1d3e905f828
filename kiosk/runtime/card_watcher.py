"""CardWatcher: a job loop on the reader's worker that polls for cards and publishes CardPresented / CardRemoved.

Each poll is one short job (`poll_timeout` seconds), re-queued behind whatever else is waiting, so card
operations submitted by flows run between polls on the same thread and never race the watcher. A card
that stays on the reader is reported once. CardRemoved follows when the card has stayed away for a grace
period, or at once when the reader becomes unavailable. Errors from a poll are handed to the supervisor
(through the worker's on_error) and the loop waits for the device to come back.

Removal grace (`removal_grace`, seconds, default 0.3): one empty poll does not mean the card left. A poll
comes back empty whenever the chip's answer misses the poll's deadline, e.g. when the host stalls (in
`kiosk demo` the simulated chip shares the process, and so the GIL, with the Kivy window: a long render
freezes both) or the card flickers at the edge of the field. So the first empty poll only starts the
grace period; polling goes on as usual, and the card is reported removed at the end of the first empty
poll that ends at least `removal_grace` after the grace began (so never on a single empty poll). If the
same card is found meanwhile nothing is published; a different card ends the grace period at once
(CardRemoved for the old card, then CardPresented for the new one). A card taken off and tapped again
after the grace period is reported again. `removal_grace=0` restores "removed on the first empty poll".

Tap latency (for the heartbeat, docs/office.md): from the moment the poll that found a new card returned it
(CardPresented) to the moment the card's data was read and checked against the ledger (CardVerified, published by
CardStation.check_tap), in milliseconds. Measured once per tap; `last_tap_ms` is the newest, `tap_p95_ms` the 95th
percentile of the last TAP_WINDOW taps. A card that leaves before it was verified is not measured.
"""
from __future__ import annotations

import logging
import threading
import math
import time
from collections import deque
from collections.abc import Callable

from kiosk.errors import KioskError
from kiosk.ports import CardReader, Tag
from kiosk.runtime.events import (CardPresented, CardRemovedEvent, CardVerified, DeviceHealth, DeviceHealthChanged,
                                  EventBus)
from kiosk.runtime.supervisor import DeviceSupervisor

log = logging.getLogger(__name__)
REMOVAL_GRACE_S = 0.3
TAP_WINDOW = 20  # taps behind tap_p95_ms


class CardWatcher:
    def __init__(self, supervisor: DeviceSupervisor[CardReader], bus: EventBus, *, poll_timeout: float = 0.1,
                 idle_retry: float = 0.1, removal_grace: float = REMOVAL_GRACE_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if removal_grace < 0:
            raise ValueError("removal_grace must be >= 0 seconds")
        self.supervisor = supervisor
        self.bus = bus
        self.poll_timeout = poll_timeout
        self.idle_retry = idle_retry
        self.removal_grace = removal_grace
        self.clock = clock
        self._tag: Tag | None = None
        self._missing_since: float | None = None  # end of the first empty poll while a card is current
        self.misses_forgiven = 0  # empty polls of a card that turned out to be still there
        self._running = threading.Event()
        self._arrived: tuple[str, float] | None = None  # the new card's UID and when its poll returned it
        self._taps: deque[int] = deque(maxlen=TAP_WINDOW)  # the last taps' latency, ms
        self._lock = threading.Lock()
        self._unsubscribes = [bus.subscribe(DeviceHealthChanged, self._on_health),
                              bus.subscribe(CardVerified, self._on_verified)]

    @property
    def current(self) -> Tag | None:
        """The card on the reader (still the same one during a removal grace period), or None."""
        return self._tag

    @property
    def last_tap_ms(self) -> int | None:
        """The newest tap's latency (arrival to data read and verified), or None before the first."""
        with self._lock:
            return self._taps[-1] if self._taps else None

    @property
    def tap_p95_ms(self) -> int | None:
        """The 95th percentile (nearest rank) of the last TAP_WINDOW taps' latency, or None before the first."""
        with self._lock:
            taps = sorted(self._taps)
        return taps[math.ceil(0.95 * len(taps)) - 1] if taps else None

    def _on_verified(self, event: CardVerified) -> None:
        with self._lock:
            arrived = self._arrived
            if event.device != self.supervisor.name or arrived is None or \
                    arrived[0].lower() != event.uid_hex.lower():
                return
            self._arrived = None  # once per tap: a second check of the same tap is not a new latency
            self._taps.append(max(0, round((self.clock() - arrived[1]) * 1000)))

    def start(self) -> None:
        self._running.set()
        self.supervisor.worker.submit(self._step)

    def stop(self) -> None:
        self._running.clear()
        for unsubscribe in self._unsubscribes:
            unsubscribe()

    def _on_health(self, event: DeviceHealthChanged) -> None:
        if event.device == self.supervisor.name and event.health is not DeviceHealth.AVAILABLE:
            self._gone()  # a reader that is gone cannot vouch for the card: no grace

    def _gone(self) -> None:
        tag, self._tag, self._missing_since = self._tag, None, None
        with self._lock:
            self._arrived = None
        if tag is not None:
            self.bus.publish(CardRemovedEvent(self.supervisor.name, tag.uid.hex))

    def _empty(self) -> None:
        """A poll found no card: start the grace period, or end it with CardRemoved once it has run out."""
        if self._tag is None:
            return
        now = self.clock()
        if self._missing_since is None and self.removal_grace > 0:
            self._missing_since = now
        elif self._missing_since is None or now - self._missing_since >= self.removal_grace:
            self._gone()

    def _seen(self, tag: Tag) -> None:
        if self._tag is not None and self._tag.uid == tag.uid:
            if self._missing_since is not None:
                self._missing_since = None
                self.misses_forgiven += 1
                log.debug("card %s was missed by a poll but never left", tag.uid.hex)
            return
        self._gone()
        self._tag = tag
        with self._lock:
            self._arrived = (tag.uid.hex, self.clock())
        self.bus.publish(CardPresented(self.supervisor.name, tag))

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
            self._empty()
        else:
            self._seen(tag)
        self.supervisor.worker.submit(self._step)
