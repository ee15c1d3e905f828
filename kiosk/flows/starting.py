"""Start-up behind the window: the screens get a KioskServices at once while the runtime starts on a thread.

`StartingServices` answers the attract screen from the last known content (`AttractSnapshot`) until the
real services are attached, and makes every other call wait (on the caller's worker thread, never the UI
thread) until they are, or fail with KioskStarting. `BackgroundStart` runs the start function when the
window asks for it (after its first frame, so the two never compete for the interpreter) and publishes
`ServicesReady` or `ServicesFailed` on the event bus, which the window receives like any device event.
"""
from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Generic, TypeVar

from kiosk.errors import DatabaseGone, DatabaseUnreachable, KioskError, KioskStarting, UnexpectedFailure
from kiosk.flows.attract_snapshot import AttractSnapshot
from kiosk.flows.public_cache import PublicCache
from kiosk.flows.records import (DeviceHealth, DeviceState, DirectoryEntry, MemberEventView, NoticeView,
                                 ServiceStatus, SiteInfo)

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class ServicesReady:
    """The runtime is up; `demo` carries the demo bar's controls under `kiosk demo`."""

    demo: Any = None


@dataclass(frozen=True)
class DatabaseHealthChanged:
    """On the event bus when the estate database stops or starts answering (kiosk.app_runtime.offline, and the
    start behind the window while it keeps trying). `cached_at`: when the local copy of the public pages was
    last refreshed (None: there is none)."""

    up: bool
    reason: str = ""
    cached_at: datetime | None = None


@dataclass(frozen=True)
class ServicesFailed:
    code: str
    message: str


class StartingServices:
    """A KioskServices that becomes the real one once `attach()` is called."""

    def __init__(self, snapshot: AttractSnapshot, wait_s: float = 60.0, cache: PublicCache | None = None) -> None:
        self.snapshot = snapshot
        self.wait_s = wait_s
        self.cache = cache  # the local copy of the public pages (kiosk.flows.public_cache), read while offline
        self._settled = threading.Event()
        self._services: Any = None
        self._error: KioskError | None = None
        self._offline = False  # the estate database does not answer yet: the start keeps trying

    @property
    def ready(self) -> bool:
        return self._services is not None

    def attach(self, services: Any) -> None:
        self._services = services
        self._settled.set()

    def fail(self, error: KioskError) -> None:
        self._error = error
        self._settled.set()

    def offline(self, gone: bool) -> None:
        """The start found the database gone (True) and keeps trying; False once it answers."""
        self._offline = gone

    def _real(self) -> Any:
        deadline = time.monotonic() + self.wait_s
        while not self._settled.wait(min(0.2, max(0.0, deadline - time.monotonic()))):
            if self._offline:  # say so at once: the start may wait for hours
                raise DatabaseGone("the estate database does not answer yet; the kiosk keeps trying")
            if time.monotonic() >= deadline:
                raise KioskStarting(f"services not ready after {self.wait_s:.0f} s")
        if self._error is not None:
            raise type(self._error)(self._error.detail, **self._error.params)
        return self._services

    # --- the attract screen's content: remembered while starting, remembered again when loaded ----
    def site_info(self) -> SiteInfo:
        kept = self.snapshot.content.site
        if not self._settled.is_set() and kept is not None:
            return kept
        site = self._real().site_info()
        self.snapshot.remember_site(site)
        return site

    def service_status(self) -> ServiceStatus:
        if self._offline and not self._settled.is_set():  # the database gone: the out-of-service page, with why
            kept_status = self.snapshot.content.status or ServiceStatus(False)
            return replace(kept_status, devices=(DeviceHealth("database", DeviceState.DOWN),),
                           cached_at=self.cache.refreshed_at if self.cache is not None else None)
        kept = self.snapshot.content.status
        if not self._settled.is_set() and kept is not None:
            return kept
        status = self._real().service_status()
        self.snapshot.remember_status(status)
        return status

    def current_notices(self, tier: str | None, language: str, now: datetime) -> tuple[NoticeView, ...]:
        if tier is not None:  # a signed-in household's notices are never kept on disk
            return self._real().current_notices(tier, language, now)
        if not self._settled.is_set():
            copy = self.cache.notices(language, now) if self._offline and self.cache is not None else None
            if copy is not None:
                return copy
            kept = self.snapshot.notices(language, now)
            if kept is not None:
                return kept
        notices = self._real().current_notices(None, language, now)
        self.snapshot.remember_notices(language, notices)
        return notices

    def directory(self, language: str) -> tuple[DirectoryEntry, ...]:
        if self._offline and not self._settled.is_set() and self.cache is not None:
            copy = self.cache.directory(language)
            if copy is not None:
                return copy
        return self._real().directory(language)

    def member_events(self, tier: str | None, language: str, now: datetime) -> tuple[MemberEventView, ...]:
        if tier is None and self._offline and not self._settled.is_set() and self.cache is not None:
            copy = self.cache.events(language, now)
            if copy is not None:
                return copy
        return self._real().member_events(tier, language, now)

    # --- everything else: the real services, once they are there ----------------------------------
    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if self._services is not None:
            return getattr(self._services, name)

        def when_started(*args: Any, **kwargs: Any) -> Any:
            return getattr(self._real(), name)(*args, **kwargs)
        return when_started


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The garbage collector off for one start attempt (about a second): the start's imports and runtime make
    hundreds of thousands of objects that live on, which the collector would walk again and again for nothing
    (about 0.05 s of the start's CPU here). The window collects and freezes them once the kiosk is usable
    (screens/quiet_gc.py); a start that waits for the database waits with the collector on."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class BackgroundStart(Generic[T]):
    """Run `start()` once on its own thread; hand its services to `services` and tell the bus how it went."""

    def __init__(self, start: Callable[[], T], services: StartingServices, bus: Any,
                 services_of: Callable[[T], Any], demo_of: Callable[[T], Any] = lambda _started: None,
                 probe: Callable[[], tuple[bool, str]] | None = None, retry_s: float = 1.0,
                 prepare: Callable[[], None] | None = None) -> None:
        self._start, self._services, self._bus = start, services, bus
        self._services_of, self._demo_of = services_of, demo_of
        self._probe = probe  # (answers, why not): the estate database, asked before each start attempt
        self._retry_s = retry_s
        # What needs no database (devices, simulators, modules), done once while it is still gone, so that its
        # return leaves only what needs it (docs/fleet.md, "A kiosk that starts while the database is gone").
        self._prepare = prepare
        self._prepared = False
        self.answered_at: float | None = None  # monotonic: the first answer after the database was gone
        self._stopping = threading.Event()
        self.database_down = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.started: T | None = None
        self.error: BaseException | None = None

    def begin(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="kiosk-start", daemon=True)
                self._thread.start()

    def _database_gone(self, gone: bool, reason: str = "") -> None:
        if gone == self.database_down:
            return
        self.database_down = gone
        self._services.offline(gone)
        cache = self._services.cache
        if gone:
            log.error("the estate database does not answer (%s); out of service, trying again every %.0f s",
                      reason, self._retry_s)
        elif self.answered_at is not None:
            log.warning("in service %.2f s after the estate database answered again",
                        time.monotonic() - self.answered_at)
        self._bus.publish(DatabaseHealthChanged(not gone, reason, cache.refreshed_at if cache is not None else None))

    def _start_when_the_database_answers(self) -> T | None:
        """The start, once the database answers: a kiosk started while it is gone shows the out-of-service page
        and keeps asking (never closes its window); a start that still finds it gone goes back to asking."""
        while not self._stopping.is_set():
            asked = time.monotonic()  # attempts every retry_s from one start to the next: a probe that waited
            if self._probe is not None:  # for its timeout on a silent network is followed by the next at once
                answers, reason = self._probe()
                if not answers:
                    self._database_gone(True, reason)
                    self._prepare_once()
                    self._stopping.wait(max(0.0, asked + self._retry_s - time.monotonic()))
                    continue
                if self.database_down and self.answered_at is None:
                    self.answered_at = time.monotonic()
                    log.warning("the estate database answers: starting")
            try:
                with _collector_paused():
                    self._prepare_once()
                    return self._start()
            except DatabaseUnreachable as exc:
                if self._probe is None:
                    raise
                self.answered_at = None
                self._database_gone(True, str(exc))
                self._stopping.wait(max(0.0, asked + self._retry_s - time.monotonic()))
        return None

    def _prepare_once(self) -> None:
        if self._prepare is not None and not self._prepared:
            self._prepared = True
            started = time.monotonic()
            self._prepare()
            log.info("prepared what needs no database in %.2f s", time.monotonic() - started)

    def _run(self) -> None:
        try:
            started = self._start_when_the_database_answers()
            if started is None:  # the window closed while the database was gone
                return
            services, demo = self._services_of(started), self._demo_of(started)
        except BaseException as exc:  # noqa: BLE001 - reported to the window and re-raised by finish()
            self.error = exc
            error = exc if isinstance(exc, KioskError) else UnexpectedFailure(repr(exc), reference="START")
            if not isinstance(exc, KioskError):
                log.error("the kiosk failed to start", exc_info=exc)
            self._services.fail(error)
            self._bus.publish(ServicesFailed(error.code, str(error)))
            return
        self.started = started
        self._services.attach(services)
        self._bus.publish(ServicesReady(demo))
        if self.database_down:
            self._database_gone(False)

    def finish(self, timeout_s: float = 60.0) -> T | None:
        """After the window closed: wait for a start still under way; returns what it started (to be
        stopped by the caller), None if it never began, and re-raises its failure."""
        with self._lock:
            thread = self._thread
        if thread is None:
            return None
        self._stopping.set()  # a start still waiting for the database gives up
        thread.join(timeout_s)
        if thread.is_alive():
            log.error("the kiosk start did not finish within %.0f s", timeout_s)
        if self.error is not None:
            raise self.error
        return self.started
