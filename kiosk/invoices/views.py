"""What screens, the CLI and reports read about invoices: frozen records, amounts in fen, labels as msgids.

Nothing here talks to the provider; `request_view` and friends read the database only. Masked titles are what a
resident's screen shows; staff views carry the full title (staff correct it before a retry).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.invoices.states import RED_REASON_LABELS, STATE_LABELS, InvoiceState
from kiosk.invoices.titles import mask_name, mask_tax_id
from kiosk.persistence.models import InvoiceLineRecord, InvoiceRequest, Receipt, RedLetter, RedLetterLine
from kiosk.ports import RedLetterReason
from kiosk.services import receipts


@dataclass(frozen=True)
class LineView:
    position: int
    fee_kind: str
    goods_name: str
    detail: str
    rate_permille: int
    policy: str
    included_fen: int
    excluded_fen: int
    tax_fen: int


@dataclass(frozen=True)
class RedLetterView:
    red_id: int
    order_no: str
    state: str  # kiosk.invoices.states.RedState
    reason: str  # RedLetterReason value ("1".."4")
    reason_label: str  # msgid
    requested_by: str
    total_fen: int  # reversed, positive
    positions: tuple[int, ...]  # the blue lines it reverses, in their order
    invoice_no: str
    failure_reason: str
    created_at: datetime
    issued_at: datetime | None


@dataclass(frozen=True)
class InvoiceView:
    request_id: int
    order_no: str
    receipt_number: str
    state: InvoiceState
    state_label: str  # msgid (kiosk.invoices.states.STATE_LABELS)
    buyer_kind: str
    buyer_name: str
    buyer_tax_id: str
    buyer_masked: str  # what a resident's screen shows
    tax_id_masked: str
    total_fen: int
    invoice_no: str
    qr_payload: str  # the QR a resident scans for the PDF once issued
    pdf_url: str
    failure_reason: str  # the provider's words when failed
    reversal_pending: bool  # voided while the provider held it: cancelled if it fails, reversed once issued
    created_at: datetime
    issued_at: datetime | None
    lines: tuple[LineView, ...]
    red_letters: tuple[RedLetterView, ...]
    household_id: int | None = None  # whose saved titles staff may offer when correcting the title

    @property
    def pending(self) -> bool:
        return self.state in (InvoiceState.QUEUED, InvoiceState.SENDING, InvoiceState.ISSUING, InvoiceState.UNKNOWN)

    @property
    def red_fen(self) -> int:
        """What issued red letters reversed so far."""
        return sum(r.total_fen for r in self.red_letters if r.state == "issued")


def line_views(session: Session, request_id: int) -> tuple[LineView, ...]:
    rows = session.scalars(select(InvoiceLineRecord).where(InvoiceLineRecord.request_id == request_id)
                           .order_by(InvoiceLineRecord.position)).all()
    return tuple(LineView(r.position, r.fee_kind, r.goods_name, r.detail, r.rate_permille, r.policy, r.included_fen,
                          r.excluded_fen, r.tax_fen) for r in rows)


def red_views(session: Session, request_id: int) -> tuple[RedLetterView, ...]:
    reds = session.scalars(select(RedLetter).where(RedLetter.request_id == request_id).order_by(RedLetter.id)).all()
    out = []
    for red in reds:
        positions = tuple(session.scalars(select(InvoiceLineRecord.position)
                                          .join(RedLetterLine, RedLetterLine.line_id == InvoiceLineRecord.id)
                                          .where(RedLetterLine.red_letter_id == red.id)
                                          .order_by(InvoiceLineRecord.position)))
        out.append(RedLetterView(red.id, red.order_no, red.state, red.reason,
                                 RED_REASON_LABELS[RedLetterReason(red.reason)], red.requested_by, red.total_fen,
                                 positions, red.invoice_no, red.failure_reason, red.created_at, red.issued_at))
    return tuple(out)


def request_view(session: Session, request: InvoiceRequest, *, with_lines: bool = True) -> InvoiceView:
    receipt = session.get(Receipt, request.receipt_id)
    state = InvoiceState(request.state)
    return InvoiceView(
        request.id, request.order_no, receipts.format_number(receipt.number) if receipt else "", state,
        STATE_LABELS[state], request.buyer_kind, request.buyer_name, request.buyer_tax_id,
        mask_name(request.buyer_kind, request.buyer_name), mask_tax_id(request.buyer_tax_id), request.total_fen,
        request.invoice_no, request.qr_payload, request.pdf_url, request.failure_reason, bool(request.reverse_reason),
        request.created_at, request.issued_at, line_views(session, request.id) if with_lines else (),
        red_views(session, request.id), request.household_id)


def views(session: Session, requests: Sequence[InvoiceRequest], *, with_lines: bool = False) -> tuple[InvoiceView, ...]:
    return tuple(request_view(session, r, with_lines=with_lines) for r in requests)
