"""`kiosk demo`: every device simulated at the wire level, in this process, on ptys and loopback ports."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.settings import Settings

if TYPE_CHECKING:
    from kiosk.app_runtime.runtime import KioskRuntime
    from kiosk.bootstrap import Database
    from kiosk.runtime.events import EventBus

log = logging.getLogger(__name__)


@dataclass
class DemoSimulators:
    """The simulated reader (pty), printer (TCP, PNGs into the data dir), banknote validator (pty), payment-code
    scanner (pty), WeChat Pay and Alipay (HTTP on 127.0.0.1, their keys under <data dir>/gateway-sim/, named in
    secrets.toml) and tax provider. The real drivers talk to them exactly as to hardware and to the providers."""

    data_dir: Path
    gateway_secret: str
    invoice_app_key: str = ""
    invoice_app_secret: str = ""
    reader: Any = None
    printer: Any = None
    cash: Any = None
    wechatpay: Any = None
    alipay: Any = None
    scanner: Any = None
    tax: Any = None
    urls: dict[str, str] = field(default_factory=dict)
    gateway_secrets: dict[str, str] = field(default_factory=dict)  # what secrets.toml names for the two networks

    def start(self) -> DemoSimulators:
        from devices.sim.cctalk_sim import SimBillValidator
        from devices.sim.escpos_sim import SimPrinter
        from devices.sim.pn532_sim import SimPn532
        from devices.sim.scanner_sim import SimScanner
        from kiosk.app_runtime.demo_gateways import start_network_simulators

        self.reader = SimPn532().start()
        self.printer = SimPrinter(self.data_dir / "printer-sim", port=0).start()
        self.cash = SimBillValidator()
        cash_path = self.cash.start()
        self.scanner = SimScanner()
        self.urls = {"reader": self.reader.path, "printer": self.printer.url, "cash": cash_path,
                     "scanner": self.scanner.start()}
        self.wechatpay, self.alipay, urls, self.gateway_secrets = start_network_simulators(self.data_dir)
        self.urls.update(urls)
        log.info("demo simulators: %s", ", ".join(f"{k} {v}" for k, v in self.urls.items()))
        if self.invoice_app_key and self.invoice_app_secret:
            from devices.sim.tax_provider_sim import SimTaxProvider

            self.tax = SimTaxProvider(self.invoice_app_key, self.invoice_app_secret, port=0,
                                      seller_tax_id=demo_invoices()["seller_tax_id"])
            self.urls["tax"] = self.tax.start()
        return self

    def stop(self) -> None:
        for sim in (self.tax, self.alipay, self.wechatpay, self.scanner, self.cash, self.printer, self.reader):
            if sim is not None:
                try:
                    sim.stop()
                except Exception:
                    log.exception("stopping %s", type(sim).__name__)

    def settings_for(self, settings: Settings) -> Settings:
        """The same settings with every device pointed at its simulator."""
        d = settings.devices
        settings = replace(settings, devices=replace(
            d, reader=replace(d.reader, driver="pn532", url=self.urls["reader"]),
            printer=replace(d.printer, driver="escpos", url=self.urls["printer"]),
            cash=replace(d.cash, driver="cctalk", url=self.urls["cash"], enabled=True),
            scanner=replace(d.scanner, kind="serial", port=self.urls["scanner"])))
        from kiosk.app_runtime.demo_gateways import gateway_settings_for

        settings = gateway_settings_for(settings, self.urls, self.gateway_secrets)
        if "tax" not in self.urls:
            return settings
        # Invoicing on against the simulator, with the example tax table of config/demo-invoices.toml (a site's
        # own table, when it has one, is kept: the demo then shows that table at work).
        demo, own = demo_invoices(), settings.invoices
        return replace(settings, invoices=replace(
            own, enabled=True, provider="nuonuo", url=self.urls["tax"], seller_tax_id=demo["seller_tax_id"],
            clerk=demo["clerk"], tax=own.tax or demo["tax"]))


DEMO_INVOICES = Path(__file__).resolve().parents[2] / "config" / "demo-invoices.toml"


def demo_invoices() -> dict[str, Any]:
    """The demo's [invoices] (config/demo-invoices.toml): an EXAMPLE tax table and seller, never a real one."""
    import tomllib

    with DEMO_INVOICES.open("rb") as fh:
        return dict(tomllib.load(fh)["invoices"])


def start_demo_simulators(settings: Settings) -> DemoSimulators:
    """The simulators, started: they need no database, so a kiosk started while it is gone starts them while it
    waits (kiosk.flows.starting.BackgroundStart's `prepare`)."""
    assert settings.secrets is not None
    return DemoSimulators(settings.data_dir, settings.secrets.gateway_secret, settings.secrets.invoice_app_key,
                          settings.secrets.invoice_app_secret).start()


def start_demo_runtime(settings: Settings, db: Database, bus: EventBus | None = None,
                       sims: DemoSimulators | None = None) -> tuple[KioskRuntime, DemoSimulators]:
    """The runtime on the simulators (`sims`, or freshly started ones; stopped with it), the demo cards on the
    simulated reader, started: what `kiosk demo`, the e2e app and the demo tests run."""
    from kiosk.app_runtime.demo_cards import provision_demo_cards
    from kiosk.app_runtime.wiring import build_runtime, start_runtime

    sims = sims or start_demo_simulators(settings)
    try:
        rt = build_runtime(sims.settings_for(settings), db, bus)
    except BaseException:
        sims.stop()
        raise
    rt.on_stop(sims.stop)
    provision_demo_cards(rt, sims)
    start_runtime(rt)
    return rt, sims
