"""`kiosk sim tax-provider`: the e-invoice provider simulator (Nuonuo's open-API shape) on 127.0.0.1."""
from __future__ import annotations

import argparse
import os

from kiosk.cli.sim_serving import cannot_listen, serve_http


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from kiosk.cli.main import subgroup

    sim = subgroup(sub, common, "sim", "wire-level device simulators")
    t = sim.add_parser("tax-provider", parents=[common],
                       help="an e-invoice provider (Nuonuo open-API shape) on 127.0.0.1 "
                            "(first line: its http://127.0.0.1:PORT base URL)")
    t.add_argument("--port", type=int, default=0, help="TCP port (default: any free port)")
    t.add_argument("--delay", type=float, default=2.0,
                   help="seconds from an accepted order to its result (default 2; also settable at runtime)")
    t.add_argument("--seller-tax-id", help="accept only this seller tax ID (default: any valid one)")
    t.add_argument("--app-key", help="app key (default: $KIOSK_INVOICE_APP_KEY, else the data dir's secrets)")
    t.add_argument("--app-secret", help="app secret (default: $KIOSK_INVOICE_APP_SECRET, else the data dir's "
                                        "secrets)")
    t.set_defaults(handler=_sim_tax_provider)


def _credentials(args: argparse.Namespace) -> tuple[str, str]:
    key = args.app_key or os.environ.get("KIOSK_INVOICE_APP_KEY", "")
    secret = args.app_secret or os.environ.get("KIOSK_INVOICE_APP_SECRET", "")
    if key and secret:
        return key, secret
    from kiosk.cli.common import settings_from

    secrets = settings_from(args, with_secrets=True).secrets
    key = key or (secrets.invoice_app_key if secrets else "")
    secret = secret or (secrets.invoice_app_secret if secrets else "")
    if not key or not secret:
        from kiosk.errors import ConfigError

        raise ConfigError("no invoice app key / secret", key="secrets.invoice_app_key")
    return key, secret


def _sim_tax_provider(args: argparse.Namespace) -> int:
    from devices.sim.tax_provider_sim import SimTaxProvider

    key, secret = _credentials(args)
    try:
        sim = SimTaxProvider(key, secret, port=args.port, delay_s=args.delay, seller_tax_id=args.seller_tax_id)
    except OSError as exc:
        return cannot_listen(args.port, exc)
    return serve_http(sim, lambda: [f"tax provider simulator: results after {sim.book.delay_s:g} s; control with "
                                    f"POST {sim.url}/sim/control; Ctrl-C stops"])
