"""Assemble a KioskRuntime from settings: devices, collectors, the card station, the print spooler."""
from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Mapping

from kiosk.app_runtime.devices import build_devices
from kiosk.app_runtime.runtime import KioskRuntime
from kiosk.bootstrap import Database, ensure_till
from kiosk.payments.cash_collector import CashCollector
from kiosk.payments.qr_collector import QrCollector
from kiosk.runtime.events import EventBus
from kiosk.persistence import kiosk_lease
from kiosk.persistence.models import utcnow
from kiosk.services.abandoned import release_abandoned_intents
from kiosk.settings import Settings

log = logging.getLogger(__name__)


RUNTIME_MODULES = ("devices.gateway.notify_listener", "kiosk.app_runtime.invoicing", "kiosk.app_runtime.offline",
                   "kiosk.cards.station", "kiosk.flows.public_cache", "kiosk.payments.offline_cash",
                   "kiosk.persistence.db_clock", "kiosk.persistence.schema", "kiosk.printing.spooler",
                   "kiosk.runtime.card_watcher", "kiosk.app_runtime.demo_cards", "kiosk.demo.estate",
                   "kiosk.fleet.agent", "kiosk.fleet.heartbeat")


def prepare_without_database() -> None:
    """What a start can do before the database answers: the modules the runtime is made of (most of a second on
    a loaded kiosk). A kiosk started while the database is gone does it while it waits (kiosk.flows.starting)."""
    for module in RUNTIME_MODULES:
        importlib.import_module(module)


def keep_chain_head(db: Database) -> None:
    """The app, holding its kiosk code's lease, keeps its audit chain's head in memory (kiosk.persistence.chain)."""
    from kiosk.persistence import chain

    binding = chain.binding_of_factory(db.factory)
    if binding is not None:
        chain.keep_head_in_memory(db.engine, binding.chain)


def build_runtime(settings: Settings, db: Database, bus: EventBus | None = None) -> KioskRuntime:
    """Everything the kiosk runs, not yet started. Unknown drivers fail here, naming the setting."""
    from devices.gateway.notify_listener import NotificationListener

    till = ensure_till(db, settings)
    lease = kiosk_lease.take(db.factory, till.kiosk_code)  # a second kiosk with this code stops here (E1013)
    keep_chain_head(db)  # the lease makes this process its chain's one writer: its head is kept in memory
    configured = settings.devices.gateway.configured()  # network -> (url, order timeout)
    # One notification listener per network: each network's notifications reach only its own collector.
    routes = {network: _NotificationRoute() for network in configured}
    listeners = {network: NotificationListener(route) for network, route in routes.items()}
    devices = build_devices(settings, notify_urls={n: listener.url for n, listener in listeners.items()})
    rt = KioskRuntime(settings, db, till, devices, bus)
    rt.lease = lease
    _attach_offline(rt)
    if "cash" in rt.supervisors:
        rt.cash_collector = CashCollector(rt.supervisors["cash"], db.factory, till, journal=rt.cash_journal)
    for i, (network, gateway) in enumerate(devices.gateways.items()):
        rt.qr_collectors[network] = routes[network].collector = QrCollector(
            gateway, db.factory, till, timeout_s=configured[network][1], network=network, adopt_unlabelled=i == 0)
    rt.qr_collector = next(iter(rt.qr_collectors.values()), None)
    _attach_code_collectors(rt)
    if devices.gateways:
        from kiosk.payments.void_refunds import VoidRefunds

        rt.void_refunds = VoidRefunds(devices.gateways, db.factory, till)
    for listener in listeners.values():
        listener.start()
        rt.on_stop(listener.stop)
    _attach_card_station(rt)
    _attach_spooler(rt)
    _attach_invoicing(rt)
    return rt


def _attach_code_collectors(rt: KioskRuntime) -> None:
    """With a scanner, every network whose driver takes payment codes (wechatpay, alipay; not the sandbox) gets a
    CodeCollector: the resident shows the app's payment code (docs/payments.md, "The pay-page journey")."""
    scanner = rt.supervisors.get("scanner")
    if scanner is None:
        return
    from kiosk.payments.code_collector import CodeCollector

    for network, qr in rt.qr_collectors.items():
        if hasattr(qr.gateway, "pay_with_code"):
            rt.code_collectors[network] = CodeCollector(qr.gateway, scanner, qr, rt.db.factory, rt.till,
                                                        network=network)


class _NotificationRoute:
    """A network's listener hands its notifications to that network's collector (once the collector exists)."""

    collector: QrCollector | None = None

    def __call__(self, body: bytes, headers: Mapping[str, str]) -> None:
        if self.collector is not None:
            self.collector.handle_notification(body, headers)


def _attach_offline(rt: KioskRuntime) -> None:
    """The database gone: the local copy of the public pages, the kiosk's banknote journal, the health probe
    (kiosk.app_runtime.offline)."""
    from kiosk.app_runtime.offline import OfflineGuard
    from kiosk.flows.public_cache import PublicCache, cache_path
    from kiosk.payments.offline_cash import CashJournal, journal_path

    rt.public_cache = PublicCache(cache_path(rt.settings.data_dir))
    rt.cash_journal = CashJournal(journal_path(rt.settings.data_dir))
    rt.offline = OfflineGuard(rt, rt.public_cache)


def _attach_invoicing(rt: KioskRuntime) -> None:
    """E-invoices: off, refused (one logged line, kept for staff), or ready; the worker starts with the runtime.
    Every change the worker makes reaches the bus as a kiosk.invoices.sender.Outcome (My records refreshes)."""
    from kiosk.app_runtime.invoicing import build_invoicing

    rt.invoicing = build_invoicing(rt.settings, rt.db, rt.till)
    rt.invoicing.listeners.append(rt.bus.publish)


def _attach_card_station(rt: KioskRuntime) -> None:
    """The card station needs a reader that can write MIFARE Classic and the site's card keys."""
    reader = rt.supervisors.get("reader")
    if reader is None or rt.settings.secrets is None:
        return
    try:
        from kiosk.cards.station import CardStation
    except ImportError:  # the station lands with the card integration; until then taps identify by UID
        return
    rt.card_station = CardStation.from_runtime(rt)


def _attach_spooler(rt: KioskRuntime) -> None:
    printer = rt.supervisors.get("printer")
    if printer is None:
        return
    from kiosk.printing.spooler import PrintSpooler

    rt.spooler = PrintSpooler(printer, rt.db.factory, rt.till.kiosk_id, rt.bus)


def attach_database_clock(rt: KioskRuntime) -> None:
    """Times that matter come from the database's clock (kiosk.persistence.db_clock); PostgreSQL only."""
    from kiosk.persistence.db_clock import DatabaseClock

    rt.db_clock = DatabaseClock(rt.db.engine, rt.settings.database.clock_warning_s)
    rt.db_clock.start()
    rt.on_stop(rt.db_clock.stop)


def attach_fleet(rt: KioskRuntime) -> None:
    """The estate office's side in the kiosk: heartbeat, remote actions, alerts (kiosk.fleet.agent)."""
    from kiosk.fleet.agent import FleetAgent

    rt.fleet = FleetAgent(rt)
    rt.fleet.start()
    rt.on_stop(rt.fleet.stop)


def start_runtime(rt: KioskRuntime) -> None:
    """Start devices, then recover money that arrived while the kiosk was down, off the UI thread."""
    attach_database_clock(rt)  # before anything is stamped: every 'now' from here on is the database's clock
    from kiosk.app_runtime.health_file import HealthFile

    rt.on_stop(HealthFile(rt.settings.data_dir, rt.bus).stop)  # each device's state, for `kiosk doctor`
    rt.start()
    if rt.lease is not None:  # the heartbeat; a clean stop frees the code at once
        rt.lease.start()
        rt.on_stop(rt.lease.release)
    attach_fleet(rt)
    reader = rt.supervisors.get("reader")
    if reader is not None:  # taps reach the screens as CardPresented / CardRemovedEvent on the bus
        from kiosk.runtime.card_watcher import CardWatcher

        # The chip waits for a card itself (answering the moment one arrives); a longer poll only
        # means fewer cancel-and-relist round trips while nobody is at the kiosk.
        timing = rt.settings.devices.reader
        watcher = CardWatcher(reader, rt.bus, poll_timeout=timing.poll_ms / 1000,
                              removal_grace=timing.removal_grace_ms / 1000)
        rt.card_watcher = watcher
        watcher.start()
        rt.on_stop(watcher.stop)
    if rt.cash_collector is not None:  # between payments too: a cash box removed while idle (docs/office.md)
        rt.on_stop(rt.cash_collector.watch_idle(max(0.2, rt.settings.devices.cash.idle_poll_ms / 1000)))
    if rt.spooler is not None:
        rt.spooler.start()
        rt.on_stop(rt.spooler.stop)
    from kiosk.runtime.clock_sync import ClockWatch

    rt.on_stop(ClockWatch().start().stop)  # at start and hourly: is the clock synchronised (docs/deploy.md)
    from kiosk.runtime import clock_sync

    rt.clock_sync = lambda: clock_sync.latest().summary()  # the heartbeat's clock_sync (kiosk.fleet.heartbeat)
    if rt.invoicing is not None and rt.invoicing.available:
        rt.invoicing.start()
        rt.on_stop(rt.invoicing.stop)

    if rt.offline is not None:
        rt.offline.start()
        rt.on_stop(rt.offline.stop)
    started = utcnow()

    def recover() -> None:
        if rt.cash_collector is None and rt.cash_journal is not None:  # notes journaled before a restart
            try:
                from kiosk.payments.offline_cash import credit_journaled_notes

                credit_journaled_notes(rt.db.factory, rt.till, rt.cash_journal)
            except Exception:
                log.exception("crediting journaled banknotes failed; retried when the database is back")
        qr = [(f"qr {network}", c) for network, c in rt.qr_collectors.items()]
        codes = [(f"payment code {network}", c) for network, c in rt.code_collectors.items()]
        for name, collector in [("cash", rt.cash_collector), *qr, *codes, ("void refunds", rt.void_refunds)]:
            if collector is None:
                continue
            try:
                if name == "cash" and not rt.supervisors["cash"].wait_available(5.0):
                    log.warning("cash acceptor not available at start; recovery runs with the next payment")
                    continue
                done = collector.recover()
                if done:
                    log.warning("%s recovery settled %d item(s) left from before the restart", name, len(done))
            except Exception:
                log.exception("%s recovery failed; it is retried with the next payment", name)
        try:
            released = release_abandoned_intents(rt.db.factory, rt.till, started_before=started)
            if released:
                log.warning("released %d payment(s) left unfinished before the restart: %s", len(released),
                            ", ".join(released))
        except Exception:
            log.exception("releasing unfinished payments failed; retried at the next start")
        finally:
            rt.recovered.set()  # money recovered: the kiosk is usable (kiosk.app_runtime.usable)
        try:
            if rt.offline is not None:  # not money: after usable
                rt.offline.refresh_cache()  # the local copy of notices, directory and events, fresh from the start
        finally:
            rt.start_settled.set()

    threading.Thread(target=recover, name="start-up-recovery", daemon=True).start()
