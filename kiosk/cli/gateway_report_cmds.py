"""`kiosk report gateway --date D`: the day's trade bill of the configured payment network against the ledger
(kiosk/services/gateway_reconcile.py; docs/payments.md, "Reconciliation")."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.cli.common import database_from

if TYPE_CHECKING:
    from kiosk.ports import TradeBillSource
    from kiosk.settings import Settings

EXIT_UNMATCHED = 3  # the report ran and something did not match


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from kiosk.cli.invoice_cmds import _day
    from kiosk.cli.main import subgroup

    report = subgroup(sub, common, "report", "reports for finance")
    r = report.add_parser(
        "gateway", parents=[common],
        help="the day's WeChat Pay / Alipay trade bill matched with the ledger (exit 0 all matched, 3 not)",
        description="Downloads the day's trade bill of the configured payment network and matches every payment "
                    "(by out_trade_no) and refund (by refund id) with the ledger's gateway payments and refunds of "
                    "the site's day. Prints one line per finding and the totals matched / unmatched per network; "
                    "keeps the totals for the daily settlement. Exit status: 0 when everything matched, 3 when "
                    "anything did not (or a bill could not be downloaded), other codes for errors as everywhere.")
    r.add_argument("--date", required=True, type=_day, help="YYYY-MM-DD, the site's local day")
    r.add_argument("--csv", type=Path, help="also write one CSV row per finding here")
    r.add_argument("--json", action="store_true", help="print the report as one JSON object instead of lines")
    r.set_defaults(handler=_report)


def bill_sources(settings: Settings) -> dict[str, TradeBillSource]:
    """Every configured network's driver that has a trade bill (wechatpay, alipay: `devices.gateway.networks`, or
    the single `devices.gateway.driver`); ConfigError when none has one."""
    from devices.gateway.registry import SETTING
    from kiosk.app_runtime.devices import build_gateways
    from kiosk.errors import ConfigError
    from kiosk.ports import TradeBillSource

    g = settings.devices.gateway
    if not g.configured() or settings.secrets is None:
        raise ConfigError("no payment gateway is configured (devices.gateway.url)", key="devices.gateway.url")
    sources = {name: gateway for name, gateway in build_gateways(settings, {}).items()
               if isinstance(gateway, TradeBillSource)}
    if not sources:
        raise ConfigError(f"the {g.driver} gateway has no trade bill to reconcile", key=SETTING)
    return sources


def _report(args: argparse.Namespace) -> int:
    from kiosk import bootstrap
    from kiosk.domain.money import Money
    from kiosk.persistence.db import unit_of_work
    from kiosk.services import gateway_reconcile as gr

    settings, db = database_from(args)
    till = bootstrap.ensure_till(db, settings)
    tz = settings.site.timezone
    bills = gr.download_bills(bill_sources(settings), args.date)
    with unit_of_work(db.factory) as s:
        movements = gr.ledger_movements(s, till.site_id, args.date, tz)
    report = gr.reconcile(movements, bills, args.date, tz)
    with unit_of_work(db.factory) as s:
        gr.record_run(s, till.site_id, report)
    if args.json:
        print(json.dumps(gr.to_json(report), ensure_ascii=False, sort_keys=True))
    else:
        print(f"gateway {report.day} ({report.tz}): {len(report.findings)} finding(s), "
              + ("all matched" if report.all_matched else "NOT all matched"))
        for f in report.findings:
            amounts = " / ".join("-" if fen is None else Money(fen).plain() for fen in (f.bill_fen, f.ledger_fen))
            print(f"  {f.network:<9} {f.kind:<7} {f.status:<16} {f.key} bill/ledger {amounts} "
                  f"{f.payment_reference} {f.note}".rstrip())
        for t in report.totals():
            print(f"  total {t.network}: matched {t.matched_count} / {Money(t.matched_fen).plain()}, "
                  f"unmatched {t.unmatched_count} / {Money(t.unmatched_fen).plain()}")
    if args.csv:
        from kiosk.private_files import write_private_text

        write_private_text(args.csv, gr.to_csv(report))
        if not args.json:
            print(f"  CSV written to {args.csv}")
    return 0 if report.all_matched else EXIT_UNMATCHED
