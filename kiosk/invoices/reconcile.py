"""Reconciliation of the ledger against the provider (`kiosk invoice reconcile`, `kiosk report invoices`).

Every paid receipt of the site's day (payments completed that day that succeeded or were voided later, as the
settlement counts them) ends in exactly one status:
- invoiced: one invoice issued for it, for what the tax table invoices of it (a voided receipt: and reversed);
- pending: its invoice (or the red letter of its void) is still with the provider;
- not_requested: nobody asked (or a void cancelled the request before the provider issued anything);
- flagged: anything staff must look at: more than one invoice standing, a total that differs, a failed
  request, a voided receipt whose invoice stands, an invoice reversed while its payment stands, or the provider
  saying something else than our records (asked when `answers` are given: `ask_provider`).
"""
from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.domain import site_clock
from kiosk.domain.money import Money
from kiosk.domain.receipt import ReceiptKind
from kiosk.domain.terms import PaymentStatus
from kiosk.errors import KioskError
from kiosk.invoices.states import PENDING, InvoiceState, RedState
from kiosk.invoices.tax_table import TaxTable
from kiosk.persistence.models import InvoiceRequest, Kiosk, Payment, PaymentItem, Receipt, RedLetter
from kiosk.ports import InvoiceProvider, InvoiceResult, InvoiceStatus
from kiosk.services import receipts
from kiosk.services.csv_export import CsvWriter

STATUSES = ("invoiced", "pending", "not_requested", "flagged")
CSV_COLUMNS = ("day", "receipt_number", "local_time", "payment_reference", "payment_status", "amount_fen",
               "invoiceable_fen", "status", "order_no", "invoice_state", "invoice_no", "invoiced_fen",
               "red_lettered_fen", "provider", "note")


@dataclass(frozen=True)
class ReconcileLine:
    receipt_number: str
    local_time: datetime
    payment_reference: str
    payment_status: str
    amount_fen: int
    invoiceable_fen: int
    status: str  # one of STATUSES
    order_no: str = ""
    invoice_state: str = ""
    invoice_no: str = ""
    invoiced_fen: int = 0
    red_fen: int = 0
    provider: str = ""  # what the provider said about the order number ("" when not asked)
    note: str = ""


@dataclass(frozen=True)
class Reconciliation:
    day: date
    tz: str
    lines: tuple[ReconcileLine, ...]
    provider_asked: bool

    def count(self, status: str) -> int:
        return sum(1 for line in self.lines if line.status == status)

    @property
    def counts(self) -> dict[str, int]:
        return {status: self.count(status) for status in STATUSES}


def day_payments(session: Session, site_id: int, day: date, tz_name: str) -> list[Payment]:
    start, end = site_clock.day_bounds(day, site_clock.zone_named(tz_name))
    kiosk_ids = select(Kiosk.id).where(Kiosk.site_id == site_id).scalar_subquery()
    counted = (str(PaymentStatus.SUCCEEDED), str(PaymentStatus.VOIDED))  # filtered here, not in SQL: a status
    # condition leads SQLite down the status index, every succeeded payment in history, instead of the day's range
    return [p for p in session.scalars(select(Payment).where(
        Payment.kiosk_id.in_(kiosk_ids), Payment.completed_at >= start, Payment.completed_at < end)
        .order_by(Payment.completed_at, Payment.id)) if p.status in counted]


def order_numbers(session: Session, site_id: int, day: date, tz_name: str) -> list[str]:
    """Every blue and red order number behind the day's receipts: what `ask_provider` asks about."""
    ids = [p.id for p in day_payments(session, site_id, day, tz_name)]
    if not ids:
        return []
    blue = list(session.scalars(select(InvoiceRequest.order_no).where(InvoiceRequest.payment_id.in_(ids),
                                                                      InvoiceRequest.state != "cancelled")))
    red = list(session.scalars(select(RedLetter.order_no).join(InvoiceRequest, InvoiceRequest.id == RedLetter.request_id)
                               .where(InvoiceRequest.payment_id.in_(ids))))
    return blue + red


def ask_provider(provider: InvoiceProvider, numbers: Iterable[str]) -> dict[str, InvoiceResult | str]:
    """The provider's word on each order number; an error's code when it could not say."""
    answers: dict[str, InvoiceResult | str] = {}
    for number in numbers:
        try:
            answers[number] = provider.query(number)
        except KioskError as exc:
            answers[number] = exc.code
    return answers


def reconcile(session: Session, site_id: int, day: date, tz_name: str, table: TaxTable | None,
              answers: Mapping[str, InvoiceResult | str] | None = None) -> Reconciliation:
    tz = site_clock.zone_named(tz_name)
    lines = []
    for payment in day_payments(session, site_id, day, tz_name):
        receipt = session.scalars(select(Receipt).where(Receipt.payment_id == payment.id,
                                                        Receipt.kind != str(ReceiptKind.VOID))
                                  .order_by(Receipt.number)).first()
        if receipt is None:
            continue
        items = session.scalars(select(PaymentItem).where(PaymentItem.payment_id == payment.id)).all()
        invoiceable = sum(i.amount_fen for i in items if table is None or table.invoiceable(i.fee_kind))
        requests_ = session.scalars(select(InvoiceRequest).where(InvoiceRequest.receipt_id == receipt.id)
                                    .order_by(InvoiceRequest.id)).all()
        lines.append(_line(session, payment, receipt, invoiceable, requests_, answers, tz))
    return Reconciliation(day, tz_name, tuple(lines), answers is not None)


def _line(session: Session, payment: Payment, receipt: Receipt, invoiceable: int, reqs: list[InvoiceRequest],
          answers: Mapping[str, InvoiceResult | str] | None, tz: object) -> ReconcileLine:
    voided = payment.status == PaymentStatus.VOIDED
    base = dict(receipt_number=receipts.format_number(receipt.number),
                local_time=payment.completed_at.astimezone(tz),  # type: ignore[union-attr, arg-type]
                payment_reference=payment.reference, payment_status=payment.status, amount_fen=payment.amount_fen,
                invoiceable_fen=invoiceable)
    standing = [r for r in reqs if r.state != InvoiceState.CANCELLED]
    if not standing:
        note = "voided; request cancelled before issue" if reqs else ("nothing invoiceable" if not invoiceable else "")
        return ReconcileLine(**base, status="not_requested", note=note)  # type: ignore[arg-type]
    request = standing[-1]
    reds = session.scalars(select(RedLetter).where(RedLetter.request_id == request.id).order_by(RedLetter.id)).all()
    red_fen = sum(r.total_fen for r in reds if r.state == RedState.ISSUED)
    red_pending = [r for r in reds if r.state not in (RedState.ISSUED, RedState.FAILED)]
    provider, provider_note = _provider(request, reds, answers)
    info = dict(order_no=request.order_no, invoice_state=request.state, invoice_no=request.invoice_no,
                invoiced_fen=request.total_fen if request.invoice_no else 0, red_fen=red_fen, provider=provider)
    live = [r for r in standing if r.state != InvoiceState.RED_LETTERED]
    problems = []
    if len(live) > 1:
        problems.append(f"{len(live)} invoices stand for one receipt")
    if request.state == InvoiceState.FAILED:
        problems.append(f"failed: {request.failure_reason}")
    if request.state == InvoiceState.ISSUED and not voided and request.total_fen != invoiceable:
        problems.append(f"invoice total {Money(request.total_fen).plain()} differs from "
                        f"{Money(invoiceable).plain()} invoiceable")
    if voided and request.state == InvoiceState.ISSUED and not red_pending:
        problems.append("receipt voided but its invoice stands (no red letter)")
    if not voided and request.state == InvoiceState.RED_LETTERED:
        problems.append("invoice reversed by a red letter while the payment stands")
    if provider_note:
        problems.append(provider_note)
    if problems:
        return ReconcileLine(**base, **info, status="flagged", note="; ".join(problems))  # type: ignore[arg-type]
    if request.state in PENDING or red_pending:
        note = "red letter with the provider" if red_pending else "with the provider"
        if request.reverse_reason:
            note = "voided while with the provider: cancelled if it fails, reversed once issued"
        return ReconcileLine(**base, **info, status="pending", note=note)  # type: ignore[arg-type]
    note = "reversed by red letter" if request.state == InvoiceState.RED_LETTERED else (
        f"partly reversed ({Money(red_fen).plain()})" if red_fen else "")
    return ReconcileLine(**base, **info, status="invoiced", note=note)  # type: ignore[arg-type]


def _provider(request: InvoiceRequest, reds: list[RedLetter],
              answers: Mapping[str, InvoiceResult | str] | None) -> tuple[str, str]:
    """What the provider says of the blue order, and a problem when it disagrees with our records."""
    if answers is None or request.order_no not in answers:
        return "", ""
    said = answers[request.order_no]
    if isinstance(said, str):
        return said, ""  # could not ask: not a disagreement
    text = str(said.status)
    ours_issued = request.state in (InvoiceState.ISSUED, InvoiceState.RED_LETTERED)
    if ours_issued and said.status is not InvoiceStatus.ISSUED:
        return text, f"the provider says {text} for an invoice we hold as issued"
    if ours_issued and (said.invoice_no != request.invoice_no or said.total_fen not in (0, request.total_fen)):
        return text, f"the provider's invoice {said.invoice_no} / {Money(said.total_fen).plain()} differs from ours"
    if request.state == InvoiceState.FAILED and said.status is InvoiceStatus.ISSUED:
        return text, "the provider issued an invoice we hold as failed"
    for red in reds:
        red_said = answers.get(red.order_no)
        if isinstance(red_said, InvoiceResult) and red.state == RedState.ISSUED \
                and red_said.status is not InvoiceStatus.ISSUED:
            return text, f"the provider says {red_said.status} for red letter {red.order_no} we hold as issued"
    return text, ""


def to_csv(report: Reconciliation) -> str:
    out = io.StringIO()
    writer = CsvWriter(out)
    writer.row(CSV_COLUMNS)
    for line in report.lines:
        writer.row((report.day.isoformat(), line.receipt_number, line.local_time.isoformat(timespec="seconds"),
                    line.payment_reference, line.payment_status, line.amount_fen, line.invoiceable_fen, line.status,
                    line.order_no, line.invoice_state, line.invoice_no, line.invoiced_fen, line.red_fen,
                    line.provider, line.note))
    return out.getvalue()
