"""Picks the QR payment gateway named in config (`devices.gateway.driver`); never a silent fake."""
from __future__ import annotations

from typing import Any

from kiosk.errors import DriverNotFound
from kiosk.ports import PaymentGateway

SETTING = "devices.gateway.driver"
DRIVERS = ("sandbox",)


def build_payment_gateway(driver: str, url: str, secret: bytes | str, **options: Any) -> PaymentGateway:
    """A gateway client for `driver` at `url`; options go to the client (timeout_s, notify_url ...)."""
    if driver == "sandbox":
        from devices.gateway.sandbox import SandboxGateway

        return SandboxGateway(url, secret, **options)
    raise DriverNotFound(f"known drivers: {', '.join(DRIVERS)}", driver=driver, key=SETTING)
