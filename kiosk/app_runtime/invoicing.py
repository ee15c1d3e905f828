"""Builds the kiosk's `Invoicing` from settings: the tax table checked, the provider adapter from devices/tax.

A problem refuses invoicing alone: it is logged as one line and kept as `Invoicing.error` (the staff screens and
`kiosk invoice` show it translated); payments and everything else start as usual.
"""
from __future__ import annotations

import logging

from kiosk.bootstrap import Database
from kiosk.errors import InvoicingOff, KioskError
from kiosk.invoices.sender import Backoff
from kiosk.invoices.service import Invoicing, check_settings
from kiosk.services.receipts import Till
from kiosk.settings import Settings

log = logging.getLogger(__name__)


def build_invoicing(settings: Settings, db: Database, till: Till, *, backoff: Backoff | None = None,
                    log_refusal: bool = True) -> Invoicing:
    """`log_refusal`: log the refusal line (the running kiosk); a command that prints it itself passes False."""
    inv = settings.invoices
    if not inv.enabled:
        return Invoicing(inv, db.factory, till, None, error=InvoicingOff("invoices.enabled is false"))
    try:
        table = check_settings(inv)
        from devices.tax.registry import build_invoice_provider

        from kiosk.services.provider_tokens import DbTokenStore

        secrets = settings.secrets
        app_key = secrets.invoice_app_key if secrets else ""
        provider = build_invoice_provider(inv.provider, inv.url, app_key,
                                          secrets.invoice_app_secret if secrets else "", data_dir=settings.data_dir,
                                          seller_tax_id=inv.seller_tax_id, clerk=inv.clerk,
                                          # one token for every kiosk on this app key: the provider rations them
                                          token_store=DbTokenStore(db.factory, f"{inv.provider}:{app_key}"))
    except KioskError as exc:
        if log_refusal:
            log.error("invoicing refused to start: %s", exc)
        return Invoicing(inv, db.factory, till, None, error=exc)
    return Invoicing(inv, db.factory, till, provider, table=table, backoff=backoff)
