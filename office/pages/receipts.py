"""Receipts: find by number or by household (unit), view the PNG as printed, void with a reason (admins)."""
from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, Response, g, render_template, request

from kiosk import bootstrap
from kiosk.errors import InvalidEntry
from kiosk.services import households, receipts, voids
from office import guard
from office.pages.common import actor, db, settings, site_id, work

bp = Blueprint("receipts", __name__)


def _number(text: str) -> int:
    digits = text.strip().lstrip("#").lstrip("0") or "0"
    if not digits.isdigit() or len(digits) > 12:
        raise InvalidEntry(f"receipt number {text!r}", field="number")
    return int(digits)


@bp.get("/receipts")
@guard.needs()
def page() -> Any:
    number, unit = request.args.get("number", "").strip(), request.args.get("unit", "").strip()
    sid = site_id()
    found: list[Any] = []
    with work() as s:
        if number:
            found = [receipts.find(s, sid, _number(number))]
        elif unit:
            found = receipts.of_household(s, sid, households.household_id_of(s, sid, unit))
        return render_template("receipts.html", found=found, number=number, unit=unit, fmt=receipts.format_number)


@bp.get("/receipts/<int:number>.png")
@guard.needs()
def png(number: int) -> Any:
    from devices.printer.preview import preview_image
    from kiosk.invoices import receipt_marks

    sid = site_id()
    with work() as s:
        receipt = receipts.find(s, sid, number)
        doc = receipt_marks.marked(s, receipt.id, receipts.document(receipt))
    printer = settings().devices.printer
    out = io.BytesIO()
    preview_image(doc, printer.columns, printer.encoding, None).save(out, format="PNG")
    return Response(out.getvalue(), mimetype="image/png", headers={"Cache-Control": "no-store"})


@bp.post("/receipts/<int:number>/void")
@guard.needs("admin")
def void(number: int) -> Any:
    reason = request.form.get("reason", "").strip()
    if not 1 <= len(reason) <= 200:
        raise InvalidEntry("reason", field="reason")
    till = bootstrap.ensure_till(db(), settings())
    with work() as s:
        result = voids.void_receipt(s, till, number=number, reason=reason, actor=actor(), language=g.lang)
    return render_template("receipt_voided.html", result=result)
