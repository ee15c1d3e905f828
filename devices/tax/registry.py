"""Picks the e-invoice provider adapter named in config (`invoices.provider`); never a silent fake."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from kiosk.errors import ConfigError, DriverNotFound
from kiosk.ports import InvoiceProvider

SETTING = "invoices.provider"
DRIVERS = ("nuonuo",)
TOKEN_FILE = "invoice-token.json"  # in the data directory


def build_invoice_provider(driver: str, url: str, app_key: str, app_secret: str, *, data_dir: Path | str,
                           seller_tax_id: str, clerk: str, **options: Any) -> InvoiceProvider:
    """The adapter for `driver` at `url` (the provider's base URL, the simulator's in the demo).

    `app_key` / `app_secret` come from secrets.toml; the access token is cached in `data_dir` unless a
    `token_store` is given (kiosks sharing one app key share one: kiosk.services.provider_tokens.DbTokenStore).
    Other options go to the adapter (token_url, timeout_s, refresh_margin_s, token_budget)."""
    if not url:
        raise ConfigError("the provider's base URL is empty", key="invoices.url")
    if not app_key or not app_secret:
        raise ConfigError("the provider's app key and secret are missing",
                          key="secrets.invoice_app_key / secrets.invoice_app_secret")
    if driver == "nuonuo":
        from devices.tax.nuonuo import NuonuoProvider
        from devices.tax.token_store import FileTokenStore

        store = options.pop("token_store", None) or FileTokenStore(Path(data_dir) / TOKEN_FILE)
        return NuonuoProvider(url, app_key, app_secret, seller_tax_id=seller_tax_id, clerk=clerk,
                              token_store=store, **options)
    raise DriverNotFound(f"known drivers: {', '.join(DRIVERS)}", driver=driver, key=SETTING)
