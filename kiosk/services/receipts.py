"""Receipts: site-wide gap-free numbers, the document kept for reprint, print jobs, voids."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.domain.site_clock import to_site
from kiosk.domain.receipt import ReceiptDocument, ReceiptItem, ReceiptKind
from kiosk.errors import NotFound
from kiosk.i18n import N_, translate
from kiosk.persistence.db import insert_ignoring_conflict
from kiosk.persistence.models import PrintJob, Receipt, ReceiptCounter, Site, utcnow


@dataclass(frozen=True)
class Till:
    """Where a transaction happens: the site and kiosk, with names for receipts."""

    site_id: int
    kiosk_id: int
    kiosk_code: str
    site_names: dict[str, str]  # language -> site name
    receipt_qr_template: str = ""  # e.g. "https://estate.example/e-receipt/{number}"

    def site_name(self, language: str) -> str:
        return self.site_names.get(language) or next(iter(self.site_names.values()))


def format_number(number: int) -> str:
    return f"{number:08d}"


def take_number(session: Session, site_id: int) -> int:
    """Next receipt number for the site. The counter row is locked for the rest of the transaction,
    so numbers are handed out one at a time and a rolled-back transaction gives its number back."""
    query = select(ReceiptCounter).where(ReceiptCounter.site_id == site_id).with_for_update()
    counter = session.scalars(query).one_or_none()
    if counter is None:  # the site's first receipt; two kiosks may get here at once
        insert_ignoring_conflict(session, ReceiptCounter, site_id=site_id, next_number=1)
        counter = session.scalars(query).one()
    number = counter.next_number
    counter.next_number = number + 1
    session.flush()
    return number


CAPTIONS = {
    "number": N_("Receipt No."),
    "time": N_("Time"),
    "kiosk": N_("Kiosk"),
    "household": N_("Household"),
    "method": N_("Payment method"),
    "total": N_("Total"),
}


def labels(language: str) -> dict[str, str]:
    return {key: translate(msg, language) for key, msg in CAPTIONS.items()}


def issue(session: Session, till: Till, *, kind: ReceiptKind, language: str, title: str,
          household_id: int | None = None, household_label: str = "", payment_id: int | None = None,
          items: tuple[ReceiptItem, ...] = (), total_fen: int | None = None, payment_method: str = "",
          fields: tuple[tuple[str, str], ...] = (), notes: tuple[str, ...] = (),
          now: datetime | None = None, queue_print: bool = True) -> tuple[Receipt, ReceiptDocument]:
    """Number, build, store and queue a receipt, all inside the caller's unit of work."""
    now = now or utcnow()
    number = take_number(session, till.site_id)
    text_number = format_number(number)
    doc = ReceiptDocument(
        kind=kind, number=text_number, site_name=till.site_name(language), kiosk_id=till.kiosk_code,
        issued_at=to_site(now), language=language, title=title, household=household_label, items=items,
        total_fen=total_fen, total_label=translate(CAPTIONS["total"], language), payment_method=payment_method,
        fields=fields, notes=notes,
        qr_url=till.receipt_qr_template.format(number=text_number, site=till.site_id) if till.receipt_qr_template else "",
        closing=translate(N_("Thank you. Goodbye!"), language), labels=labels(language))
    receipt = Receipt(site_id=till.site_id, number=number, kind=str(kind), kiosk_id=till.kiosk_id,
                      payment_id=payment_id, household_id=household_id, issued_at=now, language=language,
                      content=doc.to_json())
    session.add(receipt)
    session.flush()
    if queue_print:
        session.add(PrintJob(receipt_id=receipt.id, kiosk_id=till.kiosk_id))
        session.flush()
    return receipt, doc


def find(session: Session, site_id: int, number: int) -> Receipt:
    receipt = session.scalars(select(Receipt).where(Receipt.site_id == site_id, Receipt.number == number)).one_or_none()
    if receipt is None:
        raise NotFound(f"receipt {number}")
    return receipt


def document(receipt: Receipt) -> ReceiptDocument:
    return ReceiptDocument.from_json(receipt.content)


def queue_reprint(session: Session, receipt: Receipt, kiosk_id: int | None) -> ReceiptDocument:
    """Queue the stored document again, marked as a copy; the number never changes."""
    receipt.reprint_count += 1
    session.add(PrintJob(receipt_id=receipt.id, kiosk_id=kiosk_id))
    session.flush()
    doc = document(receipt)
    copy_note = translate(N_("Reprint no. {count}"), doc.language, count=receipt.reprint_count)
    return replace(doc, notes=doc.notes + (copy_note,))


def site_of(session: Session, site_id: int) -> Site:
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound(f"site {site_id}")
    return site
