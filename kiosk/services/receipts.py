"""Receipts: site-wide gap-free numbers, the document kept for reprint, print jobs, voids.

The site's counter row is the one row every kiosk of the site writes, so it is taken as late as possible and held
as briefly as possible (docs/fleet.md, "Receipt numbers"): on PostgreSQL one statement takes the number, writes
the receipt with the number in its document and queues its print job; after it come only this kiosk's chain
links (one statement, its head row locked before the number was taken) and the COMMIT.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import TextClause, bindparam, select, text
from sqlalchemy.orm import Session, make_transient_to_detached

from kiosk.domain.site_clock import to_site
from kiosk.domain.receipt import ReceiptDocument, ReceiptItem, ReceiptKind
from kiosk.errors import NotFound
from kiosk.i18n import N_, translate
from kiosk.persistence import chain
from kiosk.persistence.db import insert_ignoring_conflict, is_postgres
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
    if is_postgres(session) and not session.in_nested_transaction():
        return _issue_numbered_last(session, till, kind=kind, language=language, title=title,
                                    household_id=household_id, household_label=household_label, payment_id=payment_id,
                                    items=items, total_fen=total_fen, payment_method=payment_method, fields=fields,
                                    notes=notes, now=now, queue_print=queue_print)
    number = take_number(session, till.site_id)
    text_number = format_number(number)
    receipt, doc = _receipt(till, number, text_number, kind=kind, language=language, title=title,
                            household_id=household_id, household_label=household_label, payment_id=payment_id,
                            items=items, total_fen=total_fen, payment_method=payment_method, fields=fields,
                            notes=notes, now=now)
    session.add(receipt)
    session.flush()
    if queue_print:
        session.add(PrintJob(receipt_id=receipt.id, kiosk_id=till.kiosk_id))
        session.flush()
    return receipt, doc


def _receipt(till: Till, number: int, text_number: str, *, kind: ReceiptKind, language: str, title: str,
             household_id: int | None, household_label: str, payment_id: int | None, items: tuple[ReceiptItem, ...],
             total_fen: int | None, payment_method: str, fields: tuple[tuple[str, str], ...], notes: tuple[str, ...],
             now: datetime) -> tuple[Receipt, ReceiptDocument]:
    doc = ReceiptDocument(
        kind=kind, number=text_number, site_name=till.site_name(language), kiosk_id=till.kiosk_code,
        issued_at=to_site(now), language=language, title=title, household=household_label, items=items,
        total_fen=total_fen, total_label=translate(CAPTIONS["total"], language), payment_method=payment_method,
        fields=fields, notes=notes,
        qr_url=till.receipt_qr_template.format(number=text_number, site=till.site_id) if till.receipt_qr_template else "",
        closing=translate(N_("Thank you. Goodbye!"), language), labels=labels(language))
    receipt = Receipt(site_id=till.site_id, number=number, kind=str(kind), kiosk_id=till.kiosk_id,
                      payment_id=payment_id, household_id=household_id, issued_at=now, language=language,
                      content=doc.to_json(), reprint_count=0, voided=False, void_reason="", voided_at=None,
                      void_receipt_id=None)
    return receipt, doc


# The receipt written with its number put into the document where the mark stands, and its print job queued: the
# tail of both statements below, after the CTE `n` that moved the counter on. The number as format_number writes it.
_RECEIPT_AND_JOB = """r AS (
    INSERT INTO receipts (site_id, number, kind, kiosk_id, payment_id, household_id, issued_at, language, content,
                          reprint_count, voided, void_reason)
    SELECT :site_id, n.number, :kind, :kiosk_id, :payment_id, :household_id, :issued_at, :language,
           replace(:content, :mark, lpad(n.number::text, greatest(8, length(n.number::text)), '0')), 0, false, ''
    FROM n
    RETURNING id, number
), p AS (
    INSERT INTO print_jobs (receipt_id, kiosk_id, status, attempts, last_error, created_at)
    SELECT r.id, :kiosk_id, 'queued', 0, '', :issued_at FROM r WHERE :queue_print
)"""


def _typed(statement: TextClause) -> TextClause:
    return statement.bindparams(bindparam("issued_at", type_=Receipt.__table__.c.issued_at.type),
                                bindparam("payment_id", type_=Receipt.__table__.c.payment_id.type),
                                bindparam("household_id", type_=Receipt.__table__.c.household_id.type),
                                bindparam("kiosk_id", type_=Receipt.__table__.c.kiosk_id.type))


# One statement: the counter moved on (its row locked from here to COMMIT), the receipt written, its job queued.
_NUMBERED_LAST = _typed(text(f"""
WITH n AS (
    UPDATE receipt_counters SET next_number = next_number + 1 WHERE site_id = :site_id
    RETURNING next_number - 1 AS number
), {_RECEIPT_AND_JOB}
SELECT id, number FROM r
"""))

# The same, with this kiosk's chain head locked and read in it too (one round trip less than locking it apart).
# The head is locked before the counter, as lock_head_now then the statement above did: the counter's UPDATE waits
# on the head's CTE (a condition that is always true once the head is read, evaluated before the UPDATE locks its
# row). No head yet (the kiosk's first link): no head columns; the commit locks and creates it.
_NUMBERED_LAST_WITH_HEAD = _typed(text(f"""
WITH h AS (
    SELECT seq, last_mac, key_id FROM chain_heads WHERE chain = :chain FOR UPDATE
), n AS (
    UPDATE receipt_counters SET next_number = next_number + 1
    WHERE site_id = :site_id AND (SELECT count(*) FROM h) >= 0
    RETURNING next_number - 1 AS number
), {_RECEIPT_AND_JOB}
SELECT r.id, r.number, h.seq AS head_seq, h.last_mac AS head_mac, h.key_id AS head_key_id FROM r LEFT JOIN h ON true
"""))


def _issue_numbered_last(session: Session, till: Till, *, now: datetime, queue_print: bool,
                         **receipt: object) -> tuple[Receipt, ReceiptDocument]:
    """PostgreSQL: the number taken, the receipt and its print job written, in one round trip, as late as the
    use case can: this kiosk's chain head is locked first, in the same statement (no other kiosk waits on it), so
    after this statement the transaction only writes its links and commits."""
    head_chain = chain.head_to_lock_early(session)  # locked and read by the numbering statement itself
    session.flush()
    mark = f"@@{secrets.token_hex(8)}@@"
    row, doc = _receipt(till, 0, mark, now=now, **receipt)  # type: ignore[arg-type]
    params = dict(site_id=till.site_id, kind=row.kind, kiosk_id=till.kiosk_id, payment_id=row.payment_id,
                  household_id=row.household_id, issued_at=now, language=row.language, content=row.content, mark=mark,
                  queue_print=queue_print)
    statement = _NUMBERED_LAST
    if head_chain is not None:
        statement, params["chain"] = _NUMBERED_LAST_WITH_HEAD, head_chain
    found = session.execute(statement, params).one_or_none()
    if found is None:  # the site's first receipt: its counter row, then again
        insert_ignoring_conflict(session, ReceiptCounter, site_id=till.site_id, next_number=1)
        found = session.execute(statement, params).one()
    if head_chain is not None and found.head_seq is not None:
        chain.locked_early(session, chain.EarlyHead(int(found.head_seq), found.head_mac, found.head_key_id))
    number = int(found.number)
    text_number = format_number(number)
    row.id, row.number, row.content = int(found.id), number, row.content.replace(mark, text_number)
    make_transient_to_detached(row)
    session.add(row)  # persistent as written, without reading it back
    chain.note_written(session, row)
    return row, replace(doc, number=text_number, qr_url=doc.qr_url.replace(mark, text_number))


def find(session: Session, site_id: int, number: int) -> Receipt:
    receipt = session.scalars(select(Receipt).where(Receipt.site_id == site_id, Receipt.number == number)).one_or_none()
    if receipt is None:
        raise NotFound(f"receipt {number}")
    return receipt


def of_household(session: Session, site_id: int, household_id: int, limit: int = 50) -> list[Receipt]:
    """A household's receipts, newest first (the office's receipt search)."""
    return list(session.scalars(select(Receipt).where(Receipt.site_id == site_id, Receipt.household_id == household_id)
                                .order_by(Receipt.number.desc()).limit(limit)))


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
