"""Devices built from settings through each driver registry; an empty URL means "not attached"."""
from __future__ import annotations

from dataclasses import dataclass
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


def build_devices(settings: Settings, *, notify_url: str = "") -> AttachedDevices:
    """Unknown drivers and bad options fail here, at start, naming the setting (DriverNotFound,
    ConfigError); nothing falls back to a fake."""
    from devices.card_reader.registry import build_card_reader
    from devices.cash.registry import build_cash_acceptor
    from devices.gateway.registry import build_payment_gateway
    from devices.printer.registry import build_receipt_printer

    d = settings.devices
    reader = build_card_reader(d.reader.driver, d.reader.url, d.reader.baud) if d.reader.url else None
    printer = (build_receipt_printer(d.printer.driver, d.printer.url, profile=d.printer.profile or None,
                                     columns=d.printer.columns, width_dots=d.printer.width_dots,
                                     encoding=d.printer.encoding) if d.printer.url else None)
    cash = (build_cash_acceptor(d.cash.driver, d.cash.url, address=d.cash.address)
            if d.cash.url and d.cash.enabled else None)
    gateway = None
    if d.gateway.url and settings.secrets is not None:
        options: dict[str, object] = {"max_amount_fen": settings.limits.max_item_fen}
        if notify_url:
            options["notify_url"] = notify_url
        if d.gateway.driver == "wechatpay":
            options["wechatpay_credentials"] = settings.secrets.wechatpay_credentials
        if d.gateway.driver == "alipay":
            from devices.gateway.registry import alipay_options

            options.update(alipay_options(settings.secrets))
        gateway = build_payment_gateway(d.gateway.driver, d.gateway.url, settings.secrets.gateway_secret, **options)
    from devices.scanner.registry import build_scanner

    scanner = build_scanner(d.scanner.kind, d.scanner.port, d.scanner.baud) if d.scanner.port else None
    return AttachedDevices(reader, printer, cash, gateway, scanner)
