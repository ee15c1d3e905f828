"""Receipt printer drivers by name, as chosen in config under devices.printer.driver."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kiosk.errors import ConfigError, DriverNotFound
from kiosk.ports import ReceiptPrinter

DRIVER_KEY = "devices.printer.driver"


def _escpos(url: str, **options: Any) -> ReceiptPrinter:
    from devices.printer.escpos_printer import EscposReceiptPrinter, PrinterConfig

    try:
        config = PrinterConfig(url=url, **options)
    except TypeError as exc:  # an option name the driver does not know
        raise ConfigError(str(exc), key="devices.printer") from exc
    return EscposReceiptPrinter(config)


DRIVERS: dict[str, Callable[..., ReceiptPrinter]] = {
    "escpos": _escpos,
}


def build_receipt_printer(driver: str, url: str, **options: Any) -> ReceiptPrinter:
    """The printer for config: driver name, connection URL and driver options
    (profile, width_dots, columns, encoding, logo, timeout, status_timeout)."""
    try:
        factory = DRIVERS[driver]
    except KeyError:
        raise DriverNotFound(f"known drivers: {', '.join(sorted(DRIVERS))}", driver=driver, key=DRIVER_KEY) from None
    return factory(url, **options)
