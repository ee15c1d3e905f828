"""Flow base: one interaction's state machine, its context, worker calls, and error views for screens."""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from kiosk.errors import KioskError
from kiosk.flows.facade import KioskServices
from kiosk.flows.records import ServiceStatus, SiteInfo
from kiosk.flows.runner import Job, Runner
from kiosk.flows.session import Session
from kiosk.i18n import N_, format_date, format_datetime, format_money, translate

log = logging.getLogger(__name__)

DEFAULT_CALL_TIMEOUT_S = 20.0
PAYMENT_TIMEOUT_S = 90.0

Navigate = Callable[..., None]


@dataclass(frozen=True)
class ErrorView:
    """An error as the screen shows it: a title word and a code as well as colour, plus what to do."""

    code: str
    text: str
    hint: str
    reference: str = ""


@dataclass(frozen=True)
class ProgressView:
    text: str
    can_cancel: bool = True


@dataclass
class FlowContext:
    services: KioskServices
    session: Session
    runner: Runner
    navigate: Navigate  # navigate(route_name, **params)
    clock: Callable[[], datetime] = datetime.now
    call_timeout_s: float = DEFAULT_CALL_TIMEOUT_S
    payment_timeout_s: float = PAYMENT_TIMEOUT_S
    site: SiteInfo | None = None  # cached by the attract flow, read by the navigator
    status: ServiceStatus | None = None
    routes: frozenset[str] = frozenset()  # route names that exist (phase-2 journeys may be missing)


class Flow:
    """Holds one interaction. Screens read `view()` (a frozen dataclass) and call the flow's methods."""

    route: ClassVar[str] = ""
    title: ClassVar[str] = ""

    def __init__(self, ctx: FlowContext, **params: Any) -> None:
        self.ctx = ctx
        self.params = params
        self.job: Job | None = None
        self.closed = False
        self._listeners: list[Callable[[Any], None]] = []

    # --- plumbing ------------------------------------------------------------------------------
    @property
    def services(self) -> KioskServices:
        return self.ctx.services

    @property
    def session(self) -> Session:
        return self.ctx.session

    @property
    def language(self) -> str:
        return self.ctx.session.language

    def start(self) -> None:
        """Kick off the first load; called once by the navigator after the flow is shown."""

    def view(self) -> Any:
        raise TypeError(f"{type(self).__name__} must define view()")

    def subscribe(self, listener: Callable[[Any], None]) -> None:
        self._listeners.append(listener)

    def changed(self) -> None:
        if self.closed:
            return
        state = self.view()
        for listener in list(self._listeners):
            listener(state)

    def close(self) -> None:
        """The flow is dropped: pending results are ignored and listeners forgotten."""
        if self.job is not None and not self.job.finished:
            self.job.cancel()
        self.closed = True
        self._listeners.clear()

    # --- text ---------------------------------------------------------------------------------
    def t(self, message: str, **params: Any) -> str:
        return translate(message, self.language, **params)

    def money(self, fen: int) -> str:
        return format_money(fen, self.language)

    def when(self, value: datetime) -> str:
        return format_datetime(value, self.language)

    def day(self, value: Any) -> str:
        return format_date(value, self.language)

    def error_view(self, exc: KioskError, hint: str = "", reference: str = "") -> ErrorView:
        return ErrorView(exc.code, exc.user_message(self.language), self.t(hint) if hint else "",
                         reference or str(exc.params.get("reference", "")))

    # --- worker calls --------------------------------------------------------------------------
    def call(self, label: str, fn: Callable[[], Any], on_done: Callable[[Any], None],
             on_error: Callable[[KioskError], None], timeout_s: float | None = None,
             on_cancel: Callable[[], None] | None = None) -> Job:
        """Run `fn` on the worker; callbacks run on the UI thread unless the flow was closed meanwhile."""
        generation = self.session.generation

        def live() -> bool:
            return not self.closed and generation == self.session.generation

        def done(result: Any) -> None:
            if live():
                on_done(result)
                self.changed()

        def failed(exc: KioskError) -> None:
            if live():
                log.info("%s: %s failed: %s", self.route, label, exc)
                on_error(exc)
                self.changed()

        def cancelled() -> None:
            if live() and on_cancel is not None:
                on_cancel()
                self.changed()

        self.job = self.ctx.runner.submit(label, fn, done, failed, timeout_s or self.ctx.call_timeout_s, cancelled)
        return self.job

    def cancel(self) -> None:
        """The cancel button of a progress view."""
        if self.job is not None:
            self.job.cancel()


def new_reference() -> str:
    """A short reference number a user can show staff."""
    return uuid.uuid4().hex[:8].upper()


PLEASE_TRY_AGAIN = N_("Please try again, or ask staff for help.")
