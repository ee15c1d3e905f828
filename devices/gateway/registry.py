"""Picks the QR payment gateway named in config (`devices.gateway.driver`); never a silent fake."""
from __future__ import annotations

from typing import Any

from kiosk.errors import ConfigError, DriverNotFound
from kiosk.ports import PaymentGateway

SETTING = "devices.gateway.driver"
DRIVERS = ("sandbox", "wechatpay", "alipay")


def build_payment_gateway(driver: str, url: str, secret: bytes | str, **options: Any) -> PaymentGateway:
    """A gateway client for `driver` at `url`; options go to the client (timeout_s, notify_url ...;
    wechatpay: wechatpay_credentials, the credentials file's path)."""
    if driver == "sandbox":
        from devices.gateway.sandbox import SandboxGateway

        return SandboxGateway(url, secret, **options)
    if driver == "wechatpay":  # keys from the credentials file named in secrets.toml (docs/payments.md)
        from devices.gateway.wechatpay import WeChatPayGateway

        credentials = str(options.pop("wechatpay_credentials", "") or "")
        if not credentials:
            raise ConfigError("the wechatpay driver needs its credentials file", key="secrets.wechatpay_credentials")
        return WeChatPayGateway(url, credentials, **options)
    if driver == "alipay":  # keys, not the shared secret: alipay_options(settings.secrets) names the files
        from devices.gateway.alipay import AlipayGateway

        return AlipayGateway(url, **options)
    raise DriverNotFound(f"known drivers: {', '.join(DRIVERS)}", driver=driver, key=SETTING)


def alipay_options(secrets: Any) -> dict[str, str]:
    """The Alipay driver's credentials from secrets.toml: the app id and the two PEM files' paths."""
    return {"app_id": secrets.alipay_app_id, "app_private_key_file": secrets.alipay_app_private_key_file,
            "alipay_public_key_file": secrets.alipay_public_key_file}
