"""What a receipt says about its invoice when it is printed: a QR code to fetch it later and "发票开具中".

The stored receipt document never changes (its number, lines and content are the record); the invoice's note is
added to what is printed, from the receipt's invoice request as it stands at print time: being issued (the
line "Invoice being issued" and the QR), issued (its number and the QR), or reversed. A reprint after the
invoice issued therefore says so.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.domain.receipt import ReceiptDocument
from kiosk.i18n import N_, translate
from kiosk.invoices.states import InvoiceState
from kiosk.persistence.models import InvoiceRequest

BEING_ISSUED = N_("Invoice being issued")
FETCH_LATER = N_("Scan the code to fetch your invoice when it is ready.")
ISSUED = N_("Invoice issued, No. {number}")
REVERSED = N_("Invoice reversed by a red-letter invoice")


def requests_of(session: Session, receipt_ids: Iterable[int]) -> dict[int, InvoiceRequest]:
    """The newest request of each receipt (cancelled ones leave nothing to say)."""
    ids = list(receipt_ids)
    if not ids:
        return {}
    found: dict[int, InvoiceRequest] = {}
    for request in session.scalars(select(InvoiceRequest).where(InvoiceRequest.receipt_id.in_(ids),
                                                                InvoiceRequest.state != str(InvoiceState.CANCELLED))
                                   .order_by(InvoiceRequest.id)):
        found[request.receipt_id] = request
    return found


def mark(doc: ReceiptDocument, request: InvoiceRequest | None) -> ReceiptDocument:
    """The document as printed: the invoice's line(s) added, its QR in place of the receipt's own."""
    if request is None:
        return doc
    state = InvoiceState(request.state)
    language = doc.language
    if state == InvoiceState.ISSUED:
        notes = (translate(ISSUED, language, number=request.invoice_no), translate(FETCH_LATER, language))
    elif state == InvoiceState.RED_LETTERED:
        notes = (translate(REVERSED, language),)
    else:
        notes = (translate(BEING_ISSUED, language), translate(FETCH_LATER, language))
    qr = request.receipt_qr or doc.qr_url
    return replace(doc, notes=doc.notes + notes, qr_url=qr if state != InvoiceState.RED_LETTERED else doc.qr_url)


def marked(session: Session, receipt_id: int, doc: ReceiptDocument) -> ReceiptDocument:
    return mark(doc, requests_of(session, [receipt_id]).get(receipt_id))
