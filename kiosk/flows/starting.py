"""Start-up behind the window: the screens get a KioskServices at once while the runtime starts on a thread.

`StartingServices` answers the attract screen from the last known content (`AttractSnapshot`) until the
real services are attached, and makes every other call wait (on the caller's worker thread, never the UI
thread) until they are, or fail with KioskStarting. `BackgroundStart` runs the start function when the
window asks for it (after its first frame, so the two never compete for the interpreter) and publishes
`ServicesReady` or `ServicesFailed` on the event bus, which the window receives like any device event.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from kiosk.errors import KioskError, KioskStarting, UnexpectedFailure
from kiosk.flows.attract_snapshot import AttractSnapshot
from kiosk.flows.records import NoticeView, ServiceStatus, SiteInfo

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

    def __init__(self, snapshot: AttractSnapshot, wait_s: float = 60.0) -> None:
        self.snapshot = snapshot
        self.wait_s = wait_s
        self._settled = threading.Event()
        self._services: Any = None
        self._error: KioskError | None = None

    @property
    def ready(self) -> bool:
        return self._services is not None

    def attach(self, services: Any) -> None:
        self._services = services
        self._settled.set()

    def fail(self, error: KioskError) -> None:
        self._error = error
        self._settled.set()

    def _real(self) -> Any:
        if not self._settled.wait(self.wait_s):
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
            kept = self.snapshot.notices(language, now)
            if kept is not None:
                return kept
        notices = self._real().current_notices(None, language, now)
        self.snapshot.remember_notices(language, notices)
        return notices

    # --- everything else: the real services, once they are there ----------------------------------
    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if self._services is not None:
            return getattr(self._services, name)

        def when_started(*args: Any, **kwargs: Any) -> Any:
            return getattr(self._real(), name)(*args, **kwargs)
        return when_started


class BackgroundStart(Generic[T]):
    """Run `start()` once on its own thread; hand its services to `services` and tell the bus how it went."""

    def __init__(self, start: Callable[[], T], services: StartingServices, bus: Any,
                 services_of: Callable[[T], Any], demo_of: Callable[[T], Any] = lambda _started: None) -> None:
        self._start, self._services, self._bus = start, services, bus
        self._services_of, self._demo_of = services_of, demo_of
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.started: T | None = None
        self.error: BaseException | None = None

    def begin(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="kiosk-start", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        try:
            started = self._start()
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

    def finish(self, timeout_s: float = 60.0) -> T | None:
        """After the window closed: wait for a start still under way; returns what it started (to be
        stopped by the caller), None if it never began, and re-raises its failure."""
        with self._lock:
            thread = self._thread
        if thread is None:
            return None
        thread.join(timeout_s)
        if thread.is_alive():
            log.error("the kiosk start did not finish within %.0f s", timeout_s)
        if self.error is not None:
            raise self.error
        return self.started
