"""Navigation: checks role, service hours and device health, builds the route's flow, wipes sessions."""
from __future__ import annotations

import logging
from dataclasses import replace
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from kiosk.domain.site_clock import site_now
from kiosk.flows.base import Flow, FlowContext
from kiosk.flows.facade import KioskServices
from kiosk.flows.hours import PERSONAL_FEATURES, sign_in_offered
from kiosk.flows.records import OFFLINE_FEATURES, DeviceHealth, DeviceState, Feature, ServiceStatus
from kiosk.flows.routes import PENDING_FEATURES, ROUTES, Role, Route
from kiosk.flows.runner import Runner
from kiosk.flows.session import Session

log = logging.getLogger(__name__)

Listener = Callable[[Route, Flow | None], None]


class Navigator:
    """Owns the current route and flow. All calls happen on the UI thread."""

    def __init__(self, services: KioskServices, session: Session, runner: Runner,
                 routes: Mapping[str, Route] = ROUTES, clock: Callable[[], datetime] = site_now,
                 call_timeout_s: float | None = None) -> None:
        self.routes = routes
        self.ctx = FlowContext(services, session, runner, self.go, clock, routes=frozenset(routes))
        if call_timeout_s is not None:
            self.ctx.call_timeout_s = call_timeout_s
        self.route: Route | None = None
        self.flow: Flow | None = None
        self._listeners: list[Listener] = []
        self._going = False
        self._queued: tuple[str, dict[str, Any]] | None = None
        self.exit_requested = False

    @property
    def session(self) -> Session:
        return self.ctx.session

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    # --- the one entry point -------------------------------------------------------------------
    def go(self, name: str, **params: Any) -> None:
        """Show route `name`. Re-entrant calls (a flow navigating while starting) are queued."""
        if self._going:
            self._queued = (name, params)
            return
        self._going = True
        try:
            self._go(name, params)
            while self._queued is not None:
                (name, params), self._queued = self._queued, None
                self._go(name, params)
        finally:
            self._going = False

    def _go(self, name: str, params: dict[str, Any]) -> None:
        route = self._resolve(name, params)
        if route.name == "goodbye" or (route.name == "attract" and self.route is not None and self.route.personal):
            self.session.wipe()
        if route.name == "exit":
            self.exit_requested = True
        if self.flow is not None:
            self.flow.close()
        self.route = route
        self.flow = route.flow(self.ctx, **params) if route.flow is not None else None
        for listener in list(self._listeners):
            listener(route, self.flow)
        if self.flow is not None:
            self.flow.start()

    def _resolve(self, name: str, params: dict[str, Any]) -> Route:
        """The route to show for `name`, after role, service and hours checks (may redirect)."""
        if name not in self.routes:
            raise KeyError(f"no route {name!r}; known: {sorted(self.routes)}")
        route = self.routes[name]
        status, site = self.ctx.status, self.ctx.site
        if status is not None and status.out_of_service and not route.always:
            params.clear()
            return self.routes["out_of_service"]
        if status is not None and status.database_down and self._needs_database(route):
            if self.session.identity is not None:
                self.session.wipe()  # nothing a signed-in resident came for works now
            params.clear()
            params["database"] = True
            return self.routes["out_of_service"]
        closed = self._closed_for_sign_in(route, params)
        if closed is not None:  # out of hours no PIN is asked for a service that is closed
            card_uid = params.get("card_uid")
            params.clear()
            if closed:
                params["feature"] = closed
            if card_uid:
                params["card_uid"] = card_uid  # a staff badge tapped out of hours still opens the staff PIN pad
            if not closed and site is not None and site.available_features(self.ctx.clock()) & PERSONAL_FEATURES:
                params["paused"] = True  # in hours, but staff switched off everything a resident signs in for
                return self.routes["out_of_service"]
            return self.routes["out_of_hours"]
        if route.role is Role.RESIDENT and self.session.identity is None:
            params.clear()
            params["then"] = name
            return self.routes["identify"]
        if route.role is Role.STAFF and self.session.staff is None:
            params.clear()
            return self.routes["staff_unlock"]
        feature = route.feature
        if feature is not None:
            if site is not None and feature not in site.features:  # the site does not offer it (config)
                params.clear()
                params.update(feature=feature.value, not_offered=True)
                return self.routes["out_of_service"]
            message = status.switched_off_message(feature) if status is not None else None
            if message is not None:  # staff switched it off for the site, with a message for residents
                params.clear()
                params.update(feature=feature.value, switched_off=message)
                return self.routes["out_of_service"]
            if site is not None and feature not in site.available_features(self.ctx.clock()):
                params.clear()
                params["feature"] = feature.value
                return self.routes["out_of_hours"]
            if status is not None and status.feature_blocked(feature):
                params.clear()
                params["feature"] = feature.value
                return self.routes["out_of_service"]
        return route

    @staticmethod
    def _needs_database(route: Route) -> bool:
        """While the estate database is gone: the first page (its out-of-service page takes its place), and
        every page a resident signs in for or that writes (the public pages read the local copy)."""
        if route.name == "attract":
            return True
        if route.always:
            return False
        return route.feature is None or route.feature not in OFFLINE_FEATURES

    def database_changed(self, up: bool, cached_at: datetime | None = None) -> None:
        """The health probe's verdict changed (kiosk.app_runtime.offline): the page a resident is on gives way to
        the out-of-service page when it needs the database (not while a call is running: its own error says what
        happened, and the next step is redirected), and that page gives way to the start when it is back."""
        status = self.ctx.status or ServiceStatus(False)
        devices = tuple(d for d in status.devices if d.device != "database")
        if not up:
            devices += (DeviceHealth("database", DeviceState.DOWN),)
        self.ctx.status = replace(status, devices=devices, cached_at=None if up else cached_at)
        route, flow = self.route, self.flow
        if route is None:
            return
        if not up:
            busy = flow is not None and flow.activity()[0]
            if not busy and self._needs_database(route):
                if self.session.identity is not None:
                    self.session.wipe()
                self.go("out_of_service", database=True)
                return
        elif route.name == "out_of_service" and getattr(flow, "database", False):
            self.go("attract")
            return
        if flow is not None:
            flow.changed()

    def service_state_changed(self) -> None:
        """The office paused, resumed or reloaded this kiosk (kiosk.fleet.actions): an idle kiosk loads its first
        page again, which reads the new state (a pause shows the out-of-service page with the office's message).
        A resident's session is left alone: its end leads to the first page, which reads the state then."""
        route, flow = self.route, self.flow
        if route is None or self.session.identity is not None:
            return
        whole_kiosk_out = route.name == "out_of_service" and not any(
            getattr(flow, name, "") for name in ("database", "feature", "reference", "paused"))
        if route.name == "attract" or whole_kiosk_out:
            if self.ctx.status is not None:  # the first page reads the state afresh (a resume must reach it)
                self.ctx.status = replace(self.ctx.status, out_of_service=False, reason="")
            self.go("attract")

    def _closed_for_sign_in(self, route: Route, params: dict[str, Any]) -> str | None:
        """When `route` would ask for a sign-in that leads to nothing open now: the closed feature's name ('' for
        the household page, i.e. every personal feature closed); None when the sign-in may go ahead."""
        site = self.ctx.site
        if site is None or self.session.identity is not None:
            return None
        if route.name == "identify":
            then = self.routes.get(str(params.get("then", "household")))
        elif route.role is Role.RESIDENT:
            then = route
        else:
            return None
        now = self.ctx.clock()
        wanted = then.feature if then is not None else None
        if wanted is not None:
            return None if wanted in site.available_features(now) else wanted.value
        return None if sign_in_offered(site, now, self.ctx.status) else ""

    def can_open(self, name: str) -> bool:
        return name in self.routes

    # --- session-wide actions ------------------------------------------------------------------
    def set_language(self, language: str) -> None:
        """Switch language at any moment without losing the journey."""
        self.session.set_language(language)
        if self.flow is not None:
            hook = getattr(self.flow, "set_language", None)
            if callable(hook):
                hook(language)
            else:
                self.flow.changed()

    def end_session(self) -> None:
        """Idle timeout or 'Start over': wipe and return to the attract screen."""
        self.session.wipe()
        self.go("attract")

    def recover(self, reference: str) -> None:
        """After an unexpected error: wipe and show the out-of-service page with the reference."""
        self.session.wipe()
        self.go("out_of_service", reference=reference)

    def device_changed(self, device: str, health: str, reason: str = "") -> None:
        """A device worker reported its health ('available', 'starting', 'unavailable', 'stopped') or that it has
        been down past its limit ('out_of_service', kiosk.runtime.events.DeviceOutOfService): only then, or when
        stopped, are the features that need it off; 'unavailable' alone is degraded (its worker is reopening it)."""
        state = {"available": DeviceState.OK, "starting": DeviceState.DEGRADED,
                 "unavailable": DeviceState.DEGRADED}.get(health, DeviceState.DOWN)
        status = self.ctx.status or ServiceStatus(False)
        devices = tuple(d for d in status.devices if d.device != device) + (DeviceHealth(device, state, reason),)
        self.ctx.status = replace(status, devices=devices)
        if self.flow is not None:
            self.flow.changed()

    @staticmethod
    def pending_features() -> frozenset[Feature]:
        return PENDING_FEATURES
