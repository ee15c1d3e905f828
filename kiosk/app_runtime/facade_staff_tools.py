"""The facade's staff tools: receipts of a day, find / view (PNG) / reprint any receipt, bill import from
a USB drive, and the printer check every paying journey makes before money moves."""
from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from kiosk.domain import site_clock
from kiosk.domain.terms import StaffRole
from kiosk.errors import ImportFileError, PermissionDenied
from kiosk.i18n import N_
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Household, Payment, Receipt
from kiosk.services import audit, receipts

if TYPE_CHECKING:
    from kiosk.app_runtime.runtime import KioskRuntime
    from kiosk.flows.tool_records import ImportFile, ImportOutcome, PrinterGateView, ReceiptSummary

# Staff-only: the tools' records, the receipt preview and the bill import are imported on first use, not on the
# start's path to usable (docs/benchmarks-app.md, "Start to usable").

log = logging.getLogger(__name__)
NO_PRINTER = N_("This kiosk has no receipt printer.")
# Where removable drives are mounted (udisks2 uses /media/<user>/<label> and /run/media/<user>/<label>).
USB_ROOTS = ("/media", "/run/media", "/mnt")
MAX_IMPORT_BYTES = 5 * 1024 * 1024


class StaffToolsFacade:
    """Mixed into RuntimeKioskServices next to StaffFacade (uses its `_staff`)."""

    rt: KioskRuntime
    _staff: Callable[..., Any]
    usb_roots: tuple[str, ...] = USB_ROOTS

    # --- printer check ---------------------------------------------------------------------------
    def printer_gate(self) -> PrinterGateView:
        from kiosk.flows.tool_records import PrinterGateView

        spooler = self.rt.spooler
        if spooler is None:
            return PrinterGateView(False, NO_PRINTER, False, "no printer configured")
        gate = spooler.gate()
        return PrinterGateView(gate.can_print, gate.reason, gate.staff_alert, gate.detail)

    # --- receipts ---------------------------------------------------------------------------------
    def _summary(self, row: Receipt, units: dict[int, str], methods: dict[int, str]) -> ReceiptSummary:
        from kiosk.flows.tool_records import ReceiptSummary

        doc = receipts.document(row)
        return ReceiptSummary(receipts.format_number(row.number), row.issued_at, row.kind, doc.total_fen or 0,
                              methods.get(row.payment_id or 0, ""), row.voided, units.get(row.household_id or 0, ""))

    def _summaries(self, session: Any, rows: list[Receipt]) -> tuple[ReceiptSummary, ...]:
        hh_ids = {r.household_id for r in rows if r.household_id}
        pay_ids = {r.payment_id for r in rows if r.payment_id}
        units = {i: u for i, u in session.execute(select(Household.id, Household.unit_no).where(Household.id.in_(hh_ids)))} \
            if hh_ids else {}
        methods = {i: m for i, m in session.execute(select(Payment.id, Payment.method).where(Payment.id.in_(pay_ids)))} \
            if pay_ids else {}
        return tuple(self._summary(r, units, methods) for r in rows)

    def receipts_of_day(self, staff_id: str, day: date | None = None) -> tuple[ReceiptSummary, ...]:
        who = self._staff(staff_id)
        day = day or self.rt.local_today()
        start, end = site_clock.day_bounds(day)
        with unit_of_work(self.rt.db.factory) as s:
            rows = list(s.scalars(select(Receipt).where(Receipt.site_id == self.rt.till.site_id,
                                                        Receipt.issued_at >= start,
                                                        Receipt.issued_at < end)
                                  .order_by(Receipt.number.desc())))
            out = self._summaries(s, rows)
            audit.record(s, f"staff:{who.name}", "receipts.listed", day.isoformat(), count=len(out))
        return out

    def find_receipt(self, staff_id: str, receipt_number: str) -> ReceiptSummary:
        from kiosk.printing.preview import parse_number

        self._staff(staff_id)
        with unit_of_work(self.rt.db.factory) as s:
            row = receipts.find(s, self.rt.till.site_id, parse_number(receipt_number))
            return self._summaries(s, [row])[0]

    def receipt_png(self, staff_id: str, receipt_number: str) -> str:
        from kiosk.printing.preview import parse_number, receipt_preview

        who = self._staff(staff_id)
        from devices.printer.preview import previewer

        p = self.rt.settings.devices.printer
        out_dir = Path(self.rt.settings.data_dir) / "receipt-previews"
        path = receipt_preview(self.rt.db.factory, self.rt.till.site_id, receipt_number, out_dir,
                               previewer(p.columns if p.columns in (32, 42, 48) else 48, p.encoding or "gb18030"))
        with unit_of_work(self.rt.db.factory) as s:
            audit.record(s, f"staff:{who.name}", "receipt.viewed", receipts.format_number(parse_number(receipt_number)))
        return str(path)

    def staff_reprint(self, staff_id: str, receipt_number: str) -> None:
        from kiosk.printing.preview import parse_number

        who = self._staff(staff_id, StaffRole.STAFF, StaffRole.ADMIN)
        n = parse_number(receipt_number)
        if self.rt.spooler is not None:
            self.rt.spooler.reprint(n, actor=f"staff:{who.name}")
            return
        with unit_of_work(self.rt.db.factory) as s:
            row = receipts.find(s, self.rt.till.site_id, n)
            receipts.queue_reprint(s, row, self.rt.till.kiosk_id)
            audit.record(s, f"staff:{who.name}", "receipt.reprint", receipts.format_number(n))
        self.rt.receipt_issued()

    # --- bill import -------------------------------------------------------------------------------
    def import_files(self, staff_id: str) -> tuple[ImportFile, ...]:
        from kiosk.flows.tool_records import ImportFile

        self._staff(staff_id, StaffRole.STAFF, StaffRole.ADMIN)
        found: list[ImportFile] = []
        for root in self.usb_roots:
            for dirpath, dirnames, filenames in os.walk(root, onerror=lambda _e: None):
                if dirpath.count(os.sep) - root.count(os.sep) >= 3:
                    dirnames[:] = []  # a drive's top folders only: /media/<user>/<label>/<folder>
                dirnames[:] = [d for d in dirnames if not d.startswith(".")]
                for name in sorted(filenames):
                    if name.lower().endswith(".csv") and not name.startswith("."):
                        path = os.path.join(dirpath, name)
                        try:
                            size = os.path.getsize(path)
                        except OSError:
                            continue
                        found.append(ImportFile(path, name, size))
        return tuple(sorted(found, key=lambda f: f.path))

    def import_bills(self, staff_id: str, path: str) -> ImportOutcome:
        from kiosk.flows.tool_records import ImportOutcome
        from kiosk.services import imports

        who = self._staff(staff_id, StaffRole.STAFF, StaffRole.ADMIN)
        if path not in {f.path for f in self.import_files(staff_id)}:
            raise PermissionDenied(f"{path} is not a CSV file on a removable drive")
        if os.path.getsize(path) > MAX_IMPORT_BYTES:
            raise ImportFileError(f"{path} is larger than {MAX_IMPORT_BYTES} bytes", count=1)
        data = Path(path).read_bytes()
        try:
            with unit_of_work(self.rt.db.factory) as s:
                result = imports.import_bills(s, self.rt.till.site_id, data, actor=f"staff:{who.name}",
                                              max_item_fen=self.rt.settings.limits.max_item_fen)
        except ImportFileError as exc:
            return ImportOutcome(0, 0, imports.problems_of(exc))
        return ImportOutcome(result.count, result.total_fen)

