"""Picks the banknote acceptor driver named in config (`devices.cash.driver`); never a silent fake."""
from __future__ import annotations

from typing import Any

from kiosk.errors import DriverNotFound
from kiosk.ports import CashAcceptor

SETTING = "devices.cash.driver"
DRIVERS = ("cctalk",)


def build_cash_acceptor(driver: str, url: str, **options: Any) -> CashAcceptor:
    """A closed acceptor for `driver` on `url`; options go to the driver (address, timeout_s ...)."""
    if driver == "cctalk":
        from devices.cash.cctalk_bill_validator import CctalkBillValidator

        return CctalkBillValidator(url, **options)
    raise DriverNotFound(f"known drivers: {', '.join(DRIVERS)}", driver=driver, key=SETTING)
