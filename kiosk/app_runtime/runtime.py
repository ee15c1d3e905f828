"""KioskRuntime: one running kiosk — settings, database, devices under supervision, money movers."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from kiosk.app_runtime.devices import AttachedDevices
from kiosk.app_runtime.facade_household import HouseholdFacade
from kiosk.app_runtime.facade_invoices import InvoicesFacade
from kiosk.app_runtime.facade_public import PublicFacade
from kiosk.app_runtime.facade_staff import StaffFacade
from kiosk.app_runtime.offline import make_offline_aware
from kiosk.bootstrap import Database
from kiosk.domain import site_clock
from kiosk.domain.terms import PaymentMethod
from kiosk.errors import DeviceUnavailable
from kiosk.flows import records as r
from kiosk.payments.control import PaymentControl
from kiosk.persistence.models import Payment
from kiosk.runtime.events import DeviceHealth, EventBus
from kiosk.runtime.supervisor import DeviceSupervisor
from kiosk.runtime.worker import DeviceWorker
from kiosk.services.receipts import Till
from kiosk.settings import Settings

if TYPE_CHECKING:
    from kiosk.services.payments import MoveMoney, SettledWith

log = logging.getLogger(__name__)

HEALTH: dict[DeviceHealth, r.DeviceState] = {
    DeviceHealth.AVAILABLE: r.DeviceState.OK, DeviceHealth.STARTING: r.DeviceState.DEGRADED,
    DeviceHealth.UNAVAILABLE: r.DeviceState.DOWN, DeviceHealth.STOPPED: r.DeviceState.DOWN,
}


def _state(sup: DeviceSupervisor[Any]) -> r.DeviceState:
    """Down (its features out of service) once past `devices.out_of_service_after_s`; degraded before that."""
    if sup.health is DeviceHealth.UNAVAILABLE and not sup.out_of_service:
        return r.DeviceState.DEGRADED
    return HEALTH[sup.health]


class KioskRuntime:
    """Owns everything that runs; `services` is the KioskServices facade the screens are given."""

    def __init__(self, settings: Settings, db: Database, till: Till, devices: AttachedDevices,
                 bus: EventBus | None = None) -> None:
        self.settings = settings
        site_clock.use_zone(settings.site.timezone)  # settings built without `load` (tests) set it here
        self.db = db
        self.till = till
        self.devices = devices
        self.bus = bus or EventBus()
        self.supervisors: dict[str, DeviceSupervisor[Any]] = {}
        out_after = settings.devices.out_of_service_after_s  # the ladder's second rung (docs/deploy.md)
        for name in ("reader", "printer", "cash"):
            device = getattr(devices, name)
            if device is not None:
                self.supervisors[name] = DeviceSupervisor(DeviceWorker(name, device), self.bus,
                                                          out_of_service_after_s=out_after)
        if devices.scanner is not None:  # its idle check discards stray scans and notices a pulled cable
            self.supervisors["scanner"] = DeviceSupervisor(DeviceWorker("scanner", devices.scanner), self.bus,
                                                           out_of_service_after_s=out_after,
                                                           heartbeat=type(devices.scanner).idle_check)
        # Filled in by the wiring as each part is attached (see kiosk.app_runtime.wiring).
        self.card_station: Any = None
        self.card_watcher: Any = None
        self.cash_collector: Any = None
        self.qr_collector: Any = None  # the first of qr_collectors (the only one with a single gateway)
        self.qr_collectors: dict[str, Any] = {}  # network -> its QrCollector, in the order the resident sees them
        self.code_collectors: dict[str, Any] = {}  # network -> its CodeCollector (payment codes; needs a scanner)
        self.void_refunds: Any = None  # kiosk.payments.void_refunds.VoidRefunds: a QR void refunds at its network
        self.spooler: Any = None
        self.invoicing: Any = None  # kiosk.invoices.service.Invoicing (kiosk.app_runtime.invoicing)
        self.offline: Any = None  # kiosk.app_runtime.offline.OfflineGuard: the database gone (PostgreSQL)
        self.public_cache: Any = None  # kiosk.flows.public_cache.PublicCache: notices etc. kept on the kiosk
        self.cash_journal: Any = None  # kiosk.payments.offline_cash.CashJournal
        self.lease: Any = None  # kiosk.persistence.kiosk_lease.Lease: this process runs this kiosk code
        self.db_clock: Any = None  # kiosk.persistence.db_clock.DatabaseClock: 'now' is the database's clock
        self.booking_fees = dict(settings.bookings.fees_fen)
        self.booking_capacity = settings.bookings.capacity_per_slot
        self.banks = dict(settings.direct_debit.banks)
        self.services = RuntimeKioskServices(self)
        self._stoppers: list[Callable[[], None]] = []
        self.recovered = threading.Event()  # set once start-up recovery has run
        self.start_settled = threading.Event()  # and then the start's after-usable work (the public-pages copy)
        self.fleet: Any = None  # kiosk.fleet.agent.FleetAgent: heartbeat, remote actions, alerts
        self.on_restart: Callable[[str], None] | None = None  # the window's: restart once idle (kiosk.fleet.actions)
        self._staff_seen_at: float | None = None  # monotonic: the last staff call (the heartbeat's maintenance)

    # --- life cycle ------------------------------------------------------------------------
    def start(self) -> None:
        for sup in self.supervisors.values():
            sup.start()

    def on_stop(self, fn: Callable[[], None]) -> None:
        self._stoppers.append(fn)

    def stop(self) -> None:
        for fn in reversed(self._stoppers):
            try:
                fn()
            except Exception:  # a stop must finish whatever one part does
                log.exception("stopping %s failed", fn)
        for sup in self.supervisors.values():
            sup.stop()
        self.db.engine.dispose()

    # --- what the facade needs ---------------------------------------------------------------
    MAINTENANCE_S = 300.0  # a kiosk is in maintenance while staff used its staff pages this recently

    def staff_seen(self) -> None:
        self._staff_seen_at = time.monotonic()

    @property
    def maintenance(self) -> bool:
        seen = self._staff_seen_at
        return seen is not None and time.monotonic() - seen < self.MAINTENANCE_S

    def local_now(self) -> datetime:
        return site_clock.site_now()

    def local_today(self) -> date:
        return site_clock.site_today()

    def money_mover(self, method: PaymentMethod, control: PaymentControl, card_uid: str | None) -> MoveMoney | None:
        """What runs between a payment's intent and its settlement, per method (account credit: nothing,
        the credit is already on the ledger and is spent when the payment settles)."""
        mover = self._money_mover(method, control, card_uid)
        guard = self.offline
        if mover is None or guard is None:
            return mover

        def moving(payment: Payment) -> SettledWith | None:
            guard.moving_money_for(payment.reference)  # named in the error if the database goes meanwhile
            return mover(payment)  # what the settlement records with it (the card station's write marked done)
        return moving

    def _money_mover(self, method: PaymentMethod, control: PaymentControl, card_uid: str | None) -> MoveMoney | None:
        if method is PaymentMethod.CREDIT:
            return None
        if method is PaymentMethod.CARD:
            return self.card_station.spend_mover(card_uid, control) if self.card_station and card_uid else None
        if method is PaymentMethod.CASH:
            if self.cash_collector is None:
                raise DeviceUnavailable(device="cash")
            return self.cash_collector.as_move_money(control)
        network = control.network or next(iter(self.qr_collectors), "")
        if control.direction == "payment_code":
            code = self.code_collectors.get(network)
            if code is None or not self.supervisors["scanner"].available:
                raise DeviceUnavailable(device="scanner")
            return code.as_move_money(control)
        collector = self.qr_collectors.get(network) if control.network else self.qr_collector
        if collector is None:
            raise DeviceUnavailable(device="gateway")
        return collector.as_move_money(control)

    def qr_networks(self) -> tuple[str, ...]:
        """The networks a resident can pay with here, in the configured order."""
        return tuple(self.qr_collectors)

    def code_networks(self) -> tuple[str, ...]:
        """The networks that take a payment code now: configured, with the scanner up."""
        scanner = self.supervisors.get("scanner")
        return tuple(self.code_collectors) if scanner is not None and scanner.available else ()

    def card_writer(self, control: PaymentControl) -> Any:
        return self.card_station.write_card(control) if self.card_station else None

    def receipt_issued(self) -> None:
        if self.spooler is not None:
            self.spooler.kick()

    def device_health(self) -> tuple[r.DeviceHealth, ...]:
        out = []
        for name in ("reader", "printer", "cash"):
            sup = self.supervisors.get(name)
            if sup is None:
                out.append(r.DeviceHealth(name, r.DeviceState.DOWN, "not attached"))
            else:
                out.append(r.DeviceHealth(name, _state(sup), sup.reason, sup.reopen_attempt, sup.next_retry_s))
        scanner = self.supervisors.get("scanner")
        if scanner is not None:  # a line only where a scanner is configured (devices.scanner.port)
            out.append(r.DeviceHealth("scanner", _state(scanner), scanner.reason, scanner.reopen_attempt,
                                      scanner.next_retry_s))
        gateway_ok = self.devices.gateway is not None
        out.append(r.DeviceHealth("gateway", r.DeviceState.OK if gateway_ok else r.DeviceState.DOWN,
                                  "" if gateway_ok else "not attached"))
        off_by = self.db_clock.off_by_s if self.db_clock is not None else None
        if off_by is not None:  # the staff page words it (kiosk.flows.staff)
            out.append(r.DeviceHealth("clock", r.DeviceState.DEGRADED, f"{off_by:+.0f}"))
        if self.offline is not None and not self.offline.up:
            out.append(r.DeviceHealth("database", r.DeviceState.DOWN, self.offline.monitor.reason
                                      if self.offline.monitor is not None else ""))
        return tuple(out)


class RuntimeKioskServices(PublicFacade, HouseholdFacade, InvoicesFacade, StaffFacade):
    """The real KioskServices: every call is one or more units of work on the database, and the
    money-moving ones drive the devices through the runtime."""

    def __init__(self, rt: KioskRuntime) -> None:
        self.rt = rt


make_offline_aware(RuntimeKioskServices)  # a payment the database outage cuts off: one error, its reference
