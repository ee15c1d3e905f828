"""Invoice requests on the kiosk's side: offer, request (queued durably), staff retry, listing. No provider calls.

`request_invoice` runs inside the caller's unit of work: in the receipt's own transaction when the title is known
before paying, or in the one right after it (the success screen's "开发票"). The row, its order number and its
lines are stored before anything is sent; the worker (kiosk.invoices.worker) sends it afterwards.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.domain.receipt import ReceiptKind
from kiosk.domain.terms import PaymentStatus
from kiosk.errors import InvoiceAlreadyRequested, InvoiceNotOffered, InvoiceWrongState, NotFound
from kiosk.invoices import orders, titles
from kiosk.invoices.states import InvoiceState, check_move
from kiosk.invoices.tax_table import TaxTable
from kiosk.invoices.views import InvoiceView, request_view, views
from kiosk.persistence.models import (InvoiceAnswer, InvoiceLineRecord, InvoiceRequest, Payment, PaymentItem, Receipt,
                                      utcnow)
from kiosk.ports import InvoiceBuyer
from kiosk.services import audit, receipts

# Receipts of payments: the kinds an invoice can be asked for (never a void, a slip or a test print).
PAID_KINDS = (ReceiptKind.BILL_PAYMENT, ReceiptKind.TOP_UP, ReceiptKind.CARD_REPLACEMENT, ReceiptKind.BOOKING,
              ReceiptKind.PARKING)
LIVE = (InvoiceState.QUEUED, InvoiceState.SENDING, InvoiceState.ISSUING, InvoiceState.UNKNOWN, InvoiceState.ISSUED,
        InvoiceState.FAILED)


@dataclass(frozen=True)
class InvoiceOffer:
    """What the success screen needs to offer "开发票" for a receipt: the amount an invoice would cover (the lines
    the tax table invoices), and the request already made for it, if any."""

    receipt_number: str
    invoiceable_fen: int
    lines: int
    existing: InvoiceView | None

    @property
    def can_request(self) -> bool:
        return self.invoiceable_fen > 0 and self.existing is None


def _receipt(session: Session, site_id: int, number: int | str, *, lock: bool = False) -> Receipt:
    query = select(Receipt).where(Receipt.site_id == site_id, Receipt.number == int(number))
    receipt = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if receipt is None:
        raise NotFound(f"receipt {number}")
    return receipt


def _paid(session: Session, receipt: Receipt) -> Payment:
    payment = session.get(Payment, receipt.payment_id) if receipt.payment_id is not None else None
    if payment is None or receipt.kind not in PAID_KINDS or receipt.voided \
            or payment.status != PaymentStatus.SUCCEEDED:
        raise InvoiceNotOffered(f"receipt {receipts.format_number(receipt.number)}")
    return payment


def live_request(session: Session, receipt_id: int) -> InvoiceRequest | None:
    """The receipt's request that stands (not cancelled, not wholly reversed): at most one."""
    return session.scalars(select(InvoiceRequest).where(InvoiceRequest.receipt_id == receipt_id,
                                                        InvoiceRequest.state.in_([str(s) for s in LIVE]))
                           .order_by(InvoiceRequest.id.desc())).first()


def _items(session: Session, receipt: Receipt, payment: Payment, table: TaxTable) -> list[tuple[PaymentItem, str]]:
    """The payment's items the table invoices, in receipt order, each with the receipt line's detail (period)."""
    items = session.scalars(select(PaymentItem).where(PaymentItem.payment_id == payment.id)
                            .order_by(PaymentItem.id)).all()
    doc_items = receipts.document(receipt).items
    details = [i.detail for i in doc_items] if len(doc_items) == len(items) else [""] * len(items)
    return [(item, detail) for item, detail in zip(items, details) if table.invoiceable(item.fee_kind)]


def offer(session: Session, site_id: int, receipt_number: int | str, table: TaxTable) -> InvoiceOffer:
    receipt = _receipt(session, site_id, receipt_number)
    existing = live_request(session, receipt.id)
    try:
        items = _items(session, receipt, _paid(session, receipt), table)
    except InvoiceNotOffered:
        items = []
    return InvoiceOffer(receipts.format_number(receipt.number), sum(i.amount_fen for i, _ in items), len(items),
                        request_view(session, existing) if existing else None)


def request_invoice(session: Session, *, site_id: int, receipt_number: int | str, buyer: InvoiceBuyer,
                    table: TaxTable, actor: str, kiosk_id: int | None = None, remember_title: bool = True,
                    receipt_qr_template: str = "", now: datetime | None = None) -> InvoiceView:
    """Queue the invoice for a paid receipt. The receipt row is locked, so two kiosks asking at once make one
    request (the other gets InvoiceAlreadyRequested). `buyer` comes checked from titles.make_buyer (or a saved
    title). Raises InvoiceNotOffered for a receipt that is not a paid one or has nothing the table invoices."""
    now = now or utcnow()
    receipt = _receipt(session, site_id, receipt_number, lock=True)
    payment = _paid(session, receipt)
    if live_request(session, receipt.id) is not None:
        raise InvoiceAlreadyRequested(receipt=receipts.format_number(receipt.number))
    items = _items(session, receipt, payment, table)
    if not items:
        raise InvoiceNotOffered(f"receipt {receipts.format_number(receipt.number)}: nothing the tax table invoices")
    site_code = receipts.site_of(session, site_id).code
    order_no = orders.new_order_no(session, site_code, False, now)
    number = receipts.format_number(receipt.number)
    request = InvoiceRequest(
        site_id=site_id, order_no=order_no, receipt_id=receipt.id,
        payment_id=payment.id, household_id=receipt.household_id, kiosk_id=kiosk_id, buyer_kind=str(buyer.kind),
        buyer_name=buyer.name, buyer_tax_id=buyer.tax_id, buyer_phone=buyer.phone, buyer_email=buyer.email,
        total_fen=sum(i.amount_fen for i, _ in items), state=str(InvoiceState.QUEUED), next_attempt_at=now,
        requested_by=actor[:80], created_at=now, updated_at=now,
        receipt_qr=receipt_qr_template.format(order_no=order_no, receipt=number)[:300] if receipt_qr_template else "")
    session.add(request)
    session.flush()
    for position, (item, detail) in enumerate(items, start=1):
        row = table.row(item.fee_kind)
        tax = row.split(item.amount_fen)
        session.add(InvoiceLineRecord(
            request_id=request.id, position=position, payment_item_id=item.id, fee_kind=item.fee_kind,
            goods_name=row.goods_name, detail=detail[:40], tax_code=row.tax_code, rate_permille=row.rate_permille,
            policy=str(row.policy), quantity=1, included_fen=tax.included_fen, excluded_fen=tax.excluded_fen,
            tax_fen=tax.tax_fen))
    session.flush()
    if remember_title:
        titles.remember(session, receipt.household_id, buyer, now)
    audit.record(session, actor, "invoice.requested", request.order_no, receipt=receipts.format_number(receipt.number),
                 total_fen=request.total_fen, buyer_kind=str(buyer.kind), lines=len(items))
    return request_view(session, request)


def get(session: Session, request_id: int, *, lock: bool = False) -> InvoiceRequest:
    query = select(InvoiceRequest).where(InvoiceRequest.id == request_id)
    found = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if found is None:
        raise NotFound(f"invoice request {request_id}")
    return found


def by_invoice_no(session: Session, invoice_no: str) -> InvoiceRequest:
    found = session.scalars(select(InvoiceRequest).where(InvoiceRequest.invoice_no == invoice_no.strip())
                            .order_by(InvoiceRequest.id.desc())).first()
    if found is None:
        raise NotFound(f"invoice {invoice_no}")
    return found


def retry(session: Session, request_id: int, *, actor: str, buyer: InvoiceBuyer | None = None,
          now: datetime | None = None, checked: tuple[str, str, str] | None = None) -> InvoiceView:
    """Send a failed request again, with the title corrected when `buyer` is given. The provider said FAILED for
    the old order number, so no invoice exists under it: the retry takes a NEW number (the old one stays in the
    answers). Only a failed request can be retried; anything still with the provider is resolved by query.

    `checked` = (order number, status, reason): what the provider said about the old number just before (the
    service asks, outside this transaction); stored as an answer, and the retry is refused when the request has
    moved on meanwhile (another retry took a new number)."""
    now = now or utcnow()
    request = get(session, request_id, lock=True)
    if request.state != InvoiceState.FAILED:
        raise InvoiceWrongState(f"request {request_id} is {request.state}", state=request.state)
    check_move(request.state, InvoiceState.QUEUED)
    old = request.order_no
    if checked is not None:
        if checked[0] != old:
            raise InvoiceWrongState(f"request {request_id} moved on to order {old}", state=request.state)
        session.add(InvoiceAnswer(request_id=request.id, order_no=old, call="query", outcome=checked[1][:24],
                                  detail=json.dumps({"reason": checked[2], "before": "retry"}, ensure_ascii=False),
                                  worker=actor, at=now))
    session.add(InvoiceAnswer(request_id=request.id, order_no=old, call="retry", outcome="replaced",
                              detail=json.dumps({"reason": request.failure_reason}, ensure_ascii=False), worker=actor,
                              at=now))
    if buyer is not None:
        request.buyer_kind, request.buyer_name, request.buyer_tax_id = str(buyer.kind), buyer.name, buyer.tax_id
        request.buyer_phone, request.buyer_email = buyer.phone, buyer.email
        titles.remember(session, request.household_id, buyer, now)
    request.order_no = orders.new_order_no(session, receipts.site_of(session, request.site_id).code, False, now)
    request.state, request.failure_reason, request.attempts = str(InvoiceState.QUEUED), "", 0
    request.next_attempt_at, request.claimed_by, request.claimed_until, request.updated_at = now, "", None, now
    session.flush()
    audit.record(session, actor, "invoice.retried", request.order_no, previous_order_no=old,
                 title_changed=buyer is not None)
    return request_view(session, request)


def reopen(session: Session, request_id: int, *, order_no: str, actor: str, status: str,
           now: datetime | None = None) -> InvoiceView:
    """A failed request whose old order number the provider now reports otherwise (issued, being issued: someone
    re-issued it at the provider): back to `unknown` under the SAME number, so the worker asks and takes what the
    provider holds. Never a new number: that would make a second invoice."""
    now = now or utcnow()
    request = get(session, request_id, lock=True)
    if request.state != InvoiceState.FAILED or request.order_no != order_no:
        return request_view(session, request)
    check_move(request.state, InvoiceState.UNKNOWN)
    session.add(InvoiceAnswer(request_id=request.id, order_no=order_no, call="query", outcome=status[:24],
                              detail=json.dumps({"before": "retry"}), worker=actor, at=now))
    request.state, request.attempts, request.next_attempt_at = str(InvoiceState.UNKNOWN), 0, now
    request.claimed_by, request.claimed_until, request.updated_at = "", None, now
    session.flush()
    audit.record(session, actor, "invoice.reopened", order_no, provider_status=status)
    return request_view(session, request)


def list_requests(session: Session, site_id: int, *, state: str | None = None, limit: int = 200,
                  with_lines: bool = False) -> tuple[InvoiceView, ...]:
    """Staff's list, newest first; `state` one of InvoiceState (or "pending": queued, sending, issuing, unknown)."""
    query = select(InvoiceRequest).where(InvoiceRequest.site_id == site_id)
    if state == "pending":
        query = query.where(InvoiceRequest.state.in_([str(s) for s in LIVE[:4]]))
    elif state:
        query = query.where(InvoiceRequest.state == str(InvoiceState(state)))
    rows = session.scalars(query.order_by(InvoiceRequest.id.desc()).limit(limit)).all()
    return views(session, rows, with_lines=with_lines)


def household_invoices(session: Session, household_id: int, limit: int = 50) -> tuple[InvoiceView, ...]:
    """My records: the household's invoices, newest first (masked titles are in each view)."""
    rows = session.scalars(select(InvoiceRequest).where(InvoiceRequest.household_id == household_id)
                           .order_by(InvoiceRequest.id.desc()).limit(limit)).all()
    return views(session, rows)


def for_receipt(session: Session, site_id: int, receipt_number: int | str) -> InvoiceView | None:
    receipt = _receipt(session, site_id, receipt_number)
    found = session.scalars(select(InvoiceRequest).where(InvoiceRequest.receipt_id == receipt.id)
                            .order_by(InvoiceRequest.id.desc())).first()
    return request_view(session, found) if found else None
