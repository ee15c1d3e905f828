"""`kiosk invoice list|request|retry|red|resend|reconcile|sync` (the office's e-invoice commands) and
`kiosk report invoices` (the reconciliation of the ledger against the provider, as CSV)."""
from __future__ import annotations

import argparse
import getpass
import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.cli.common import database_from

if TYPE_CHECKING:
    from kiosk.invoices.service import Invoicing
    from kiosk.invoices.views import InvoiceView


def office_actor() -> str:
    """Who asked, as the audit log and a red letter record it: the office user at this terminal."""
    try:
        return f"cli:{getpass.getuser()}"[:80]
    except (KeyError, OSError):
        return "cli:office"


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from kiosk.cli.main import subgroup

    inv = subgroup(sub, common, "invoice", "e-invoices (数电发票): requests, retries, red letters, reconciliation")
    p = inv.add_parser("list", help="invoice requests, newest first", parents=[common])
    p.add_argument("--state", choices=("pending", "queued", "sending", "issuing", "unknown", "issued", "failed",
                                       "red_lettered", "cancelled"))
    p.add_argument("--json", action="store_true", help="one JSON object per request")
    p.add_argument("--limit", type=int, default=200)
    p.set_defaults(handler=_list)
    p = inv.add_parser("request", help="queue an invoice for a paid receipt, then send it", parents=[common])
    p.add_argument("receipt")
    p.add_argument("--title", required=True, help="the buyer: a person's name, or a company's title")
    p.add_argument("--tax-id", default="", help="the company's unified social credit code (18 characters)")
    p.set_defaults(handler=_request)
    p = inv.add_parser("retry", help="send a failed request again (optionally with the title corrected)",
                       parents=[common])
    p.add_argument("request_id", type=int)
    p.add_argument("--title", help="the corrected title")
    p.add_argument("--tax-id", default="")
    p.set_defaults(handler=_retry)
    p = inv.add_parser("red", help="reverse an issued invoice with a red letter", parents=[common])
    p.add_argument("invoice_no")
    p.add_argument("--reason", required=True, choices=("1", "2", "3", "4"),
                   help="1 退货 goods returned, 2 开票有误 issued in error, 3 服务中止 service stopped, 4 折让 allowance")
    p.add_argument("--lines", help="only these lines, e.g. 1,3 (default: every line not yet reversed)")
    p.set_defaults(handler=_red)
    p = inv.add_parser("resend", help="send an issued invoice again by SMS or e-mail (3 times a day)",
                       parents=[common])
    p.add_argument("invoice_no", help="the invoice's 20-digit number")
    to = p.add_mutually_exclusive_group(required=True)
    to.add_argument("--phone", help="a mainland mobile number (SMS)")
    to.add_argument("--email", help="an e-mail address")
    p.set_defaults(handler=_resend)
    p = inv.add_parser("reconcile", help="every paid receipt of a day: invoiced, pending, not requested or flagged",
                       parents=[common])
    p.add_argument("--date", required=True, type=_day, help="YYYY-MM-DD, the site's local day")
    p.add_argument("--csv", type=Path, help="also write the CSV here")
    p.add_argument("--offline", action="store_true", help="do not ask the provider (our records only)")
    p.set_defaults(handler=_reconcile)
    p = inv.add_parser("sync", help="send what is queued and ask the provider once about everything pending",
                       parents=[common])
    p.set_defaults(handler=_sync)

    report = subgroup(sub, common, "report", "reports for finance")
    r = report.add_parser("invoices", help="reconciliation of the ledger against the invoice provider (CSV)",
                          parents=[common])
    r.add_argument("--date", required=True, type=_day, help="YYYY-MM-DD, the site's local day")
    r.add_argument("--csv", type=Path, required=True, help="write the CSV here")
    r.add_argument("--offline", action="store_true", help="do not ask the provider (our records only)")
    r.set_defaults(handler=_reconcile)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-28") from exc


def _invoicing(args: argparse.Namespace, *, need_provider: bool = True) -> Invoicing:
    from kiosk import bootstrap
    from kiosk.app_runtime.invoicing import build_invoicing

    settings, db = database_from(args)
    invoicing = build_invoicing(settings, db, bootstrap.ensure_till(db, settings), log_refusal=False)
    if need_provider and invoicing.error is not None:
        raise invoicing.error
    return invoicing


def _show(view: InvoiceView) -> str:
    from kiosk.domain.money import Money
    from kiosk.domain.site_clock import iso

    title = view.buyer_name + (f" {view.buyer_tax_id}" if view.buyer_tax_id else "")
    tail = view.invoice_no or view.failure_reason
    reds = "".join(f" red:{r.order_no}:{r.state}" for r in view.red_letters)
    return (f"{view.request_id:>6} {iso(view.created_at)} receipt {view.receipt_number} {view.order_no} "
            f"{view.state:<12} {Money(view.total_fen).plain():>10} {title} {tail}{reds}").rstrip()


def _as_json(view: InvoiceView) -> str:
    data = {"request_id": view.request_id, "order_no": view.order_no, "receipt": view.receipt_number,
            "state": str(view.state), "buyer_kind": view.buyer_kind, "buyer_name": view.buyer_name,
            "buyer_tax_id": view.buyer_tax_id, "total_fen": view.total_fen, "invoice_no": view.invoice_no,
            "pdf_url": view.pdf_url, "failure_reason": view.failure_reason,
            "reversal_pending": view.reversal_pending, "created_at": view.created_at.isoformat(),
            "issued_at": view.issued_at.isoformat() if view.issued_at else None,
            "red_letters": [{"order_no": r.order_no, "state": r.state, "reason": r.reason,
                             "requested_by": r.requested_by, "total_fen": r.total_fen, "lines": list(r.positions),
                             "invoice_no": r.invoice_no} for r in view.red_letters]}
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def _list(args: argparse.Namespace) -> int:
    invoicing = _invoicing(args, need_provider=False)
    for view in invoicing.list(args.state, limit=args.limit):
        print(_as_json(view) if args.json else _show(view))
    return 0


def _send_one(invoicing: Invoicing, request_id: int) -> InvoiceView:
    """What `request` and `retry` do after queueing: the sync's work for this request only."""
    from kiosk.invoices.worker import sync

    assert invoicing.provider is not None
    sync(invoicing.provider, invoicing.factory, only=lambda c: not c.red and c.row_id == request_id)
    return invoicing.get(request_id)


def _request(args: argparse.Namespace) -> int:
    from kiosk.invoices import titles
    from kiosk.ports import BuyerKind

    invoicing = _invoicing(args)
    buyer = titles.make_buyer(BuyerKind.COMPANY if args.tax_id else BuyerKind.PERSONAL, args.title, args.tax_id)
    view = invoicing.request(args.receipt, buyer=buyer, actor=office_actor())
    print(_show(_send_one(invoicing, view.request_id)))
    return 0


def _retry(args: argparse.Namespace) -> int:
    invoicing = _invoicing(args)
    view = invoicing.retry(args.request_id, actor=office_actor(), title=args.title, tax_id=args.tax_id)
    print(_show(_send_one(invoicing, view.request_id)))
    return 0


def _red(args: argparse.Namespace) -> int:
    from kiosk.errors import InvalidEntry

    invoicing = _invoicing(args, need_provider=False)
    positions = None
    if args.lines:
        try:
            positions = [int(part) for part in args.lines.split(",") if part.strip()]
        except ValueError:
            raise InvalidEntry(f"--lines {args.lines!r}", field="--lines 1,3") from None
    view = invoicing.red(args.invoice_no, reason=args.reason, actor=office_actor(), positions=positions)
    if invoicing.provider is not None:
        from kiosk.invoices.worker import sync

        red_ids = {r.red_id for r in view.red_letters}
        sync(invoicing.provider, invoicing.factory, only=lambda c: c.red and c.row_id in red_ids)
        view = invoicing.get(view.request_id)
    print(_show(view))
    return 0


def _resend(args: argparse.Namespace) -> int:
    invoicing = _invoicing(args)
    sent = invoicing.resend(actor=office_actor(), invoice_no=args.invoice_no, phone=args.phone or "",
                            email=args.email or "")
    print(f"invoice {sent.invoice_no} sent to {sent.address_masked} ({sent.channel}); "
          f"{sent.left_today} more re-sends today")
    return 0


def _reconcile(args: argparse.Namespace) -> int:
    from kiosk.domain.money import Money
    from kiosk.domain.site_clock import iso
    from kiosk.invoices import reconcile
    from kiosk.persistence.db import unit_of_work

    invoicing = _invoicing(args, need_provider=False)
    tz = _site_tz(args)
    site = invoicing.till.site_id
    answers = None
    if not args.offline and invoicing.provider is not None:
        with unit_of_work(invoicing.factory) as s:
            numbers = reconcile.order_numbers(s, site, args.date, tz)
        answers = reconcile.ask_provider(invoicing.provider, numbers)
    with unit_of_work(invoicing.factory) as s:
        report = reconcile.reconcile(s, site, args.date, tz, invoicing.table, answers)
    counts = ", ".join(f"{k} {v}" for k, v in report.counts.items())
    print(f"invoices {report.day} ({report.tz}): {len(report.lines)} paid receipts: {counts}"
          + ("" if report.provider_asked else " (the provider was not asked)"))
    for line in report.lines:
        if line.status != "invoiced" or line.note:
            print(f"  {line.receipt_number} {iso(line.local_time)} {Money(line.amount_fen).plain():>10} "
                  f"{line.status:<13} {line.order_no} {line.invoice_no} {line.note}".rstrip())
    if args.csv:
        from kiosk.private_files import write_private_text

        write_private_text(args.csv, reconcile.to_csv(report))
        print(f"  CSV written to {args.csv}")
    return 0


def _site_tz(args: argparse.Namespace) -> str:
    from kiosk.cli.common import settings_from

    return settings_from(args, with_secrets=False).site.timezone


def _sync(args: argparse.Namespace) -> int:
    invoicing = _invoicing(args)
    outcomes = invoicing.sync()
    states: dict[str, int] = {}
    for o in outcomes:
        states[o.state] = states.get(o.state, 0) + 1
    print(f"invoices: talked about {len(outcomes)} order(s)" +
          "".join(f", {n} {state}" for state, n in sorted(states.items())))
    return 0
