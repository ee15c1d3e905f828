"""Office commands: `kiosk import bills|notices`, `kiosk report settlement`, `kiosk staff add`,
`kiosk receipt reprint|preview`."""
from __future__ import annotations

import argparse
import getpass
import sys
from datetime import date
from pathlib import Path

from kiosk.cli.common import database_from
from kiosk.domain.site_clock import iso
from kiosk.errors import ConfigError, ImportFileError, InvalidEntry

OFFICE = "cli:office"


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from kiosk.cli.main import subgroup

    imp = subgroup(sub, common, "import", "import the office's CSV files (all rows or none)")
    for what in ("bills", "notices"):
        p = imp.add_parser(what, help=f"import {what} from a UTF-8 CSV file (see docs/services.md)", parents=[common])
        p.add_argument("file", type=Path)
        p.set_defaults(handler=_import, what=what)

    report = subgroup(sub, common, "report", "reports for finance")
    s = report.add_parser("settlement", help="daily settlement: totals by fee kind and method, receipt range, voids",
                          parents=[common])
    s.add_argument("--date", required=True, type=_day, help="YYYY-MM-DD, the site's local day")
    s.add_argument("--csv", type=Path, help="also write the CSV export here")
    s.set_defaults(handler=_settlement)

    staff = subgroup(sub, common, "staff", "staff users")
    a = staff.add_parser("add", help="add a staff user; the PIN is read without echo (or from stdin)",
                         parents=[common])
    a.add_argument("name")
    a.add_argument("--role", required=True, choices=("staff", "technician", "admin"))
    a.add_argument("--card-uid", help="the staff card's UID (hex), for sign-in by card + PIN")
    a.set_defaults(handler=_staff_add)

    receipt = subgroup(sub, common, "receipt", "stored receipts")
    r = receipt.add_parser("reprint", help="queue a copy of a receipt (marked as a reprint) for the kiosk's printer",
                           parents=[common])
    r.add_argument("number", type=int)
    r.set_defaults(handler=_reprint)
    v = receipt.add_parser("preview", help="draw a stored receipt to a PNG", parents=[common])
    v.add_argument("number", type=int)
    v.add_argument("--out", required=True, type=Path)
    v.set_defaults(handler=_preview)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-28") from exc


def _import(args: argparse.Namespace) -> int:
    from kiosk import bootstrap
    from kiosk.persistence.db import unit_of_work
    from kiosk.services import imports

    try:
        if args.file.stat().st_size > imports.MAX_FILE_BYTES:
            raise ImportFileError(f"{args.file} is larger than {imports.MAX_FILE_BYTES} bytes", count=1,
                                  problems=((1, f"the file is larger than {imports.MAX_FILE_BYTES} bytes"),))
        data = args.file.read_bytes()
    except OSError as exc:
        raise ConfigError(key=f"{args.file}: {exc.strerror or exc}") from exc
    settings, db = database_from(args)
    till = bootstrap.ensure_till(db, settings)
    try:
        with unit_of_work(db.factory) as session:
            if args.what == "bills":
                result = imports.import_bills(session, till.site_id, data, actor=OFFICE,
                                              max_item_fen=settings.limits.max_item_fen)
            else:
                result = imports.import_notices(session, till.site_id, data, actor=OFFICE,
                                                tz_name=settings.site.timezone)
    except ImportFileError as exc:
        for line, reason in imports.problems_of(exc):
            print(f"{args.file}:{line}: {reason}", file=sys.stderr)
        raise
    print(f"imported {result.count} {args.what} from {args.file}")
    return 0


def _settlement(args: argparse.Namespace) -> int:
    from kiosk import bootstrap
    from kiosk.domain.money import Money
    from kiosk.persistence.db import unit_of_work
    from kiosk.services import settlement

    settings, db = database_from(args)
    till = bootstrap.ensure_till(db, settings)
    with unit_of_work(db.factory) as session:
        report = settlement.daily_settlement(session, till.site_id, args.date, settings.site.timezone)
    print(f"settlement {report.day} ({report.tz}) site {settings.site.code}")
    print(f"  payments {report.payment_count}, gross {Money(report.gross_fen).plain()}, "
          f"voided {Money(report.voided_fen).plain()}, net {Money(report.net_fen).plain()}")
    print(f"  receipts {report.first_receipt or '-'} .. {report.last_receipt or '-'} ({report.receipt_count})")
    print("  by fee kind:")
    for kind, fen in report.by_kind:
        print(f"    {kind:14} {Money(fen).plain():>12}")
    print("  by method:")
    for method, fen in report.by_method:
        print(f"    {method:14} {Money(fen).plain():>12}")
    print(f"  account credit created {Money(report.credit.created_fen).plain()}, "
          f"used {Money(report.credit.used_fen).plain()}, moved onto cards {Money(report.credit.moved_to_card_fen).plain()}")
    for source, fen in report.credit.created:
        print(f"    created {source:8} {Money(fen).plain():>12}")
    for method, fen in report.credit.used:
        print(f"    used with {method:6} {Money(fen).plain():>12}")
    for void in report.voids:
        print(f"  void {void.void_receipt_number} of {void.receipt_number} at {iso(void.local_time)}: "
              f"{void.method} {Money(void.amount_fen).plain()} ({void.reason})")
    for head in report.chain_heads:  # what the slip prints: `kiosk audit verify --head` checks it later
        print(f"  audit chain head {head.printed}")
    if args.csv:
        from kiosk.private_files import write_private_text

        write_private_text(args.csv, settlement.to_csv(report))  # 0600: finance's copy, not every user's
        print(f"  CSV written to {args.csv}")
    return 0


def _read_pin() -> str:
    if sys.stdin.isatty():
        pin = getpass.getpass("PIN (6-12 digits): ")
        if getpass.getpass("PIN again: ") != pin:
            raise InvalidEntry("the two PINs differ", field="PIN")
        return pin
    return sys.stdin.readline().strip()


def _staff_add(args: argparse.Namespace) -> int:
    from kiosk.persistence.db import unit_of_work
    from kiosk.services import staff

    pin = _read_pin()
    _, db = database_from(args)
    with unit_of_work(db.factory) as session:
        view = staff.add_staff(session, name=args.name, role=args.role, pin=pin, actor=OFFICE,
                               card_uid=args.card_uid)
    print(f"staff user {view.name} added as {view.role}")
    return 0


def _reprint(args: argparse.Namespace) -> int:
    from kiosk import bootstrap
    from kiosk.persistence.db import unit_of_work
    from kiosk.services import audit, receipts

    settings, db = database_from(args)
    till = bootstrap.ensure_till(db, settings)
    with unit_of_work(db.factory) as session:
        receipt = receipts.find(session, till.site_id, args.number)
        receipts.queue_reprint(session, receipt, till.kiosk_id)
        audit.record(session, OFFICE, "receipt.reprint", receipts.format_number(receipt.number))
        count = receipt.reprint_count
    print(f"receipt {receipts.format_number(args.number)} queued for printing (copy no. {count})")
    return 0


def _preview(args: argparse.Namespace) -> int:
    from devices.printer.preview import render_preview
    from kiosk import bootstrap
    from kiosk.persistence.db import unit_of_work
    from kiosk.services import receipts

    settings, db = database_from(args)
    till = bootstrap.ensure_till(db, settings)
    from kiosk.invoices import receipt_marks

    with unit_of_work(db.factory) as session:
        receipt = receipts.find(session, till.site_id, args.number)
        doc = receipt_marks.marked(session, receipt.id, receipts.document(receipt))  # as printed: the invoice's note
    out = render_preview(doc, settings.devices.printer.columns, args.out, settings.devices.printer.encoding)
    print(f"wrote {out}")
    return 0
