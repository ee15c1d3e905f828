"""Account credit in settlement and handover: credit created (overpayments, refunds and voids to credit)
and credit used (alone, or first with card balance / cash / QR), per method, from payments and the ledger."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.domain.money import Money
from kiosk.domain.terms import (CREDIT_CREATED_LABELS, CREDIT_USED_LABELS, AccountKind, EntryKind, PaymentMethod,
                                PaymentPurpose, PaymentStatus)
from kiosk.i18n import N_, translate
from kiosk.persistence.models import Account, JournalEntry, JournalLine, Payment
from kiosk.services import payments

COUNTED = (str(PaymentStatus.SUCCEEDED), str(PaymentStatus.VOIDED))
# Where credit comes from: notes or a QR payment above what was due (or kept from a payment that did not
# finish), a refund (a booking cancelled) or a void, both given back as credit. What credit was spent
# with: alone, or first with another method for the rest (split tender).
CREATED_LABELS = CREDIT_CREATED_LABELS
USED_LABELS = CREDIT_USED_LABELS
SOURCES = tuple(CREATED_LABELS)
WITH = tuple(USED_LABELS)


@dataclass(frozen=True)
class CreditFigures:
    created: tuple[tuple[str, int], ...]  # (source, fen) in SOURCES order, non-zero only
    used: tuple[tuple[str, int], ...]  # (method it went with, fen) in WITH order, non-zero only
    moved_to_card_fen: int  # the part of `used` that topped up cards

    @property
    def created_fen(self) -> int:
        return sum(fen for _, fen in self.created)

    @property
    def used_fen(self) -> int:
        return sum(fen for _, fen in self.used)


def kept_as_credit(payment: Payment) -> int:
    """What a cash or QR payment left as the household's credit: the excess over its part, or everything
    that arrived when it did not go through."""
    if payment.method not in (PaymentMethod.CASH, PaymentMethod.QR):
        return 0
    due = payments.other_part(payment) if payment.status in COUNTED else 0
    return max(0, payment.received_fen - due)


def figures(session: Session, rows: Sequence[Payment], kiosk_ids: Sequence[int], start: datetime | None,
            end: datetime) -> CreditFigures:
    """Credit figures of the payments completed in the window (`rows`) and the refunds and voids to
    credit the given kiosks posted in [start, end)."""
    created = dict.fromkeys(SOURCES, 0)
    used = dict.fromkeys(WITH, 0)
    moved = 0
    for p in rows:
        if p.method in (PaymentMethod.CASH, PaymentMethod.QR):
            created[str(p.method)] += kept_as_credit(p)
        part = payments.credit_part(p) if p.status in COUNTED else 0
        if part:
            used[str(p.method)] += part
            if p.purpose == PaymentPurpose.TOP_UP:
                moved += part
    query = (select(JournalEntry.kind, JournalLine.amount_fen)
             .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
             .join(Account, Account.id == JournalLine.account_id)
             .where(Account.kind == str(AccountKind.CREDIT), JournalLine.amount_fen < 0,
                    JournalEntry.kind.in_([str(EntryKind.REFUND), str(EntryKind.VOID)]),
                    JournalEntry.kiosk_id.in_(list(kiosk_ids)), JournalEntry.created_at < end))
    if start is not None:
        query = query.where(JournalEntry.created_at >= start)
    for kind, fen in session.execute(query):
        created["refund" if kind == EntryKind.REFUND else "void"] += -int(fen)
    return CreditFigures(tuple((k, v) for k, v in created.items() if v), tuple((k, v) for k, v in used.items() if v),
                         moved)


def slip_fields(report: CreditFigures, language: str) -> tuple[tuple[str, str], ...]:
    """The slip's credit lines: each source and use, the totals, and what was moved onto cards."""
    def y(fen: int) -> str:
        return Money(fen).plain()

    out = tuple((translate(CREATED_LABELS[k], language), y(v)) for k, v in report.created)
    out += ((translate(N_("Account credit created"), language), y(report.created_fen)),)
    out += tuple((translate(USED_LABELS[k], language), y(v)) for k, v in report.used)
    out += ((translate(N_("Account credit used"), language), y(report.used_fen)),)
    if report.moved_to_card_fen:
        out += ((translate(N_("Credit moved onto cards"), language), y(report.moved_to_card_fen)),)
    return out
