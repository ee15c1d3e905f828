"""Devices built from settings through each driver registry; an empty URL means "not attached"."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kiosk.ports import CardReader, CashAcceptor, PaymentGateway, ReceiptPrinter
from kiosk.settings import Settings

if TYPE_CHECKING:
    from devices.scanner.driver import PaymentCodeScanner


@dataclass(frozen=True)
class AttachedDevices:
    """What this kiosk has; None for a device the site has not configured (its features are off)."""

    reader: CardReader | None
    printer: ReceiptPrinter | None
    cash: CashAcceptor | None
    gateway: PaymentGateway | None
    scanner: PaymentCodeScanner | None = None  # the payment-code scanner (devices/scanner), when configured
    # network ("wechatpay", "alipay"; the driver's name for the single-gateway form) -> its gateway, in the
    # order the resident is offered them; `gateway` is the first of them (or the one given alone)
    gateways: Mapping[str, PaymentGateway] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.gateway is not None and not self.gateways:
            object.__setattr__(self, "gateways", {"gateway": self.gateway})


def build_devices(settings: Settings, *, notify_url: str = "",
                  notify_urls: Mapping[str, str] | None = None) -> AttachedDevices:
    """Unknown drivers and bad options fail here, at start, naming the setting (DriverNotFound,
    ConfigError); nothing falls back to a fake."""
    from devices.card_reader.registry import build_card_reader
    from devices.cash.registry import build_cash_acceptor
    from devices.printer.registry import build_receipt_printer

    d = settings.devices
    if notify_urls is None:
        notify_urls = {network: notify_url for network in d.gateway.configured()} if notify_url else {}
    reader = build_card_reader(d.reader.driver, d.reader.url, d.reader.baud) if d.reader.url else None
    printer = (build_receipt_printer(d.printer.driver, d.printer.url, profile=d.printer.profile or None,
                                     columns=d.printer.columns, width_dots=d.printer.width_dots,
                                     encoding=d.printer.encoding) if d.printer.url else None)
    cash = (build_cash_acceptor(d.cash.driver, d.cash.url, address=d.cash.address)
            if d.cash.url and d.cash.enabled else None)
    gateways = build_gateways(settings, notify_urls)
    gateway = next(iter(gateways.values()), None)
    from devices.scanner.registry import build_scanner

    scanner = build_scanner(d.scanner.kind, d.scanner.port, d.scanner.baud) if d.scanner.port else None
    return AttachedDevices(reader, printer, cash, gateway, scanner, gateways)


def build_gateways(settings: Settings, notify_urls: Mapping[str, str]) -> dict[str, PaymentGateway]:
    """One gateway per configured network (`devices.gateway.networks`, each with its own URL), or the single
    `devices.gateway.driver`; {} without secrets or URLs. `notify_urls`: network -> its listener's URL."""
    from devices.gateway.registry import alipay_options, build_payment_gateway

    if settings.secrets is None:
        return {}
    out: dict[str, PaymentGateway] = {}
    for network, (url, _timeout) in settings.devices.gateway.configured().items():
        options: dict[str, object] = {"max_amount_fen": settings.limits.max_item_fen}
        if notify_urls.get(network):
            options["notify_url"] = notify_urls[network]
        if network == "wechatpay":
            options["wechatpay_credentials"] = settings.secrets.wechatpay_credentials
        if network == "alipay":
            options.update(alipay_options(settings.secrets))
        out[network] = build_payment_gateway(network, url, settings.secrets.gateway_secret, **options)
    return out
