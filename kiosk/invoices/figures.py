"""Invoice totals for the daily settlement, beside the payment totals: invoiced, pending, failed, red-lettered.

For the day's counted payments (succeeded or later voided, as the settlement counts them), each receipt's invoice
as it stands when the report is made: issued (invoiced), with the provider (pending), failed, or never asked
(not requested). Red letters count on the day the bureau issued them, whatever day the payment was (as voids
count on the day they were done). Amounts are tax-included fen.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.domain.money import Money
from kiosk.i18n import N_, translate
from kiosk.invoices.states import PENDING, InvoiceState, RedState
from kiosk.persistence.models import InvoiceRequest, RedLetter

INVOICED = (InvoiceState.ISSUED, InvoiceState.RED_LETTERED)


@dataclass(frozen=True)
class InvoiceFigures:
    invoiced_fen: int = 0
    invoiced_count: int = 0
    pending_fen: int = 0
    pending_count: int = 0
    failed_fen: int = 0
    failed_count: int = 0
    red_fen: int = 0  # red letters issued during the day (amount reversed, positive)
    red_count: int = 0

    @property
    def any(self) -> bool:
        return bool(self.invoiced_count or self.pending_count or self.failed_count or self.red_count)


def figures(session: Session, site_id: int, payment_ids: Sequence[int], start: datetime,
            end: datetime) -> InvoiceFigures:
    totals: dict[str, list[int]] = {"invoiced": [0, 0], "pending": [0, 0], "failed": [0, 0]}
    if payment_ids:
        for state, fen, count in session.execute(
                select(InvoiceRequest.state, func.sum(InvoiceRequest.total_fen), func.count())
                .where(InvoiceRequest.payment_id.in_(list(payment_ids))).group_by(InvoiceRequest.state)):
            key = ("invoiced" if state in INVOICED else "pending" if state in PENDING
                   else "failed" if state == InvoiceState.FAILED else None)
            if key:
                totals[key][0] += int(fen or 0)
                totals[key][1] += int(count)
    red_fen, red_count = session.execute(
        select(func.coalesce(func.sum(RedLetter.total_fen), 0), func.count())
        .join(InvoiceRequest, InvoiceRequest.id == RedLetter.request_id)
        .where(InvoiceRequest.site_id == site_id, RedLetter.state == str(RedState.ISSUED),
               RedLetter.issued_at >= start, RedLetter.issued_at < end)).one()
    return InvoiceFigures(*totals["invoiced"], *totals["pending"], *totals["failed"], int(red_fen), int(red_count))


def slip_fields(report: InvoiceFigures, language: str) -> tuple[tuple[str, str], ...]:
    """The slip's invoice lines (none on a day without any invoice)."""
    if not report.any:
        return ()

    def line(label: str, count: int, fen: int) -> tuple[str, str]:
        return translate(label, language), f"{count} / {Money(fen).plain()}"

    return (line(N_("Invoices issued"), report.invoiced_count, report.invoiced_fen),
            line(N_("Invoices pending"), report.pending_count, report.pending_fen),
            line(N_("Invoices failed"), report.failed_count, report.failed_fen),
            line(N_("Red-letter invoices"), report.red_count, report.red_fen))
