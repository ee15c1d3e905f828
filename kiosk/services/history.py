"""A household's history for "My records": its receipts and its cards' stored-value movements, newest first.

Everything is read from what the money services already write (receipts, payment items, bills, journal lines of
the household's stored-value accounts); nothing here is stored separately. A receipt whose payment moved value on
a card carries that movement (with the card's balance after it); a card movement without a receipt (a balance
taken over from the previous system) is a row of its own. Balances are running sums of the account's lines.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.domain.receipt import ReceiptKind
from kiosk.domain.terms import FEE_LABELS, METHOD_LABELS, AccountKind, EntryKind, FeeKind, PaymentMethod
from kiosk.errors import NotFound
from kiosk.i18n import N_, translate
from kiosk.persistence.models import Account, Bill, Card, JournalEntry, JournalLine, Payment, PaymentItem, Receipt
from kiosk.services import receipts

RECEIPT_PREFIX, ENTRY_PREFIX = "R", "E"


@dataclass(frozen=True)
class CardMove:
    """Value that went onto (positive) or off (negative) one card, and the card's balance after it."""

    card_no: str
    card_kind: str  # CardKind value
    change_fen: int
    balance_after_fen: int
    entry_kind: str  # EntryKind value: top_up, bill_payment, balance_transfer, void ...

    @property
    def balance_before_fen(self) -> int:
        return self.balance_after_fen - self.change_fen


@dataclass(frozen=True)
class HistoryItem:
    label: str  # in the asked language where it comes from a bill, else as the receipt printed it
    amount_fen: int
    detail: str = ""  # a bill's period, a booking's slot ...


@dataclass(frozen=True)
class HistoryRow:
    record_id: str  # "R<receipt number>" or "E<journal entry id>"
    when: datetime  # UTC
    kind: str  # a ReceiptKind value, or "card_opening" / "card_<entry kind>" for a card movement alone
    items: tuple[HistoryItem, ...]
    amount_fen: int
    receipt_number: str = ""
    voided: bool = False
    moves: tuple[CardMove, ...] = ()


@dataclass(frozen=True)
class HistoryPage:
    rows: tuple[HistoryRow, ...]
    offset: int
    limit: int
    total: int


@dataclass(frozen=True)
class HistoryDetail:
    row: HistoryRow
    title: str = ""  # as printed
    method: str = ""  # in the asked language
    fields: tuple[tuple[str, str], ...] = ()  # as printed: reference, ticket, balances ...
    notes: tuple[str, ...] = ()
    reprint_count: int = 0


@dataclass(frozen=True)
class _Stub:
    """A timeline entry before its contents are read."""

    record_id: str
    when: datetime
    receipt_id: int | None
    entry_id: int | None


def _moves(session: Session, household_id: int) -> tuple[dict[int, list[CardMove]], dict[int, JournalEntry]]:
    """Every stored-value movement of the household's cards (replaced ones included), by journal entry."""
    cards = {c.id: c for c in session.scalars(select(Card).where(Card.household_id == household_id))}
    if not cards:
        return {}, {}
    accounts = {a.id: a for a in session.scalars(select(Account).where(
        Account.kind == str(AccountKind.STORED_VALUE), Account.card_id.in_(list(cards))))}
    if not accounts:
        return {}, {}
    rows = session.execute(select(JournalLine, JournalEntry).join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
                           .where(JournalLine.account_id.in_(list(accounts)))
                           .order_by(JournalLine.entry_id, JournalLine.id)).all()
    running: dict[int, int] = {}
    by_entry: dict[int, list[CardMove]] = {}
    entries: dict[int, JournalEntry] = {}
    for line, entry in rows:
        change = -line.amount_fen  # stored value is a liability: a credit line puts value on the card
        running[line.account_id] = running.get(line.account_id, 0) + change
        card = cards[accounts[line.account_id].card_id]  # type: ignore[index]
        by_entry.setdefault(entry.id, []).append(CardMove(card.card_no, card.kind, change, running[line.account_id],
                                                          entry.kind))
        entries[entry.id] = entry
    return by_entry, entries


def _timeline(session: Session, household_id: int) -> tuple[list[_Stub], dict[int, list[int]],
                                                            dict[int, list[CardMove]], dict[int, JournalEntry]]:
    by_entry, entries = _moves(session, household_id)
    rows = session.execute(select(Receipt.id, Receipt.number, Receipt.issued_at, Receipt.payment_id, Receipt.kind)
                           .where(Receipt.household_id == household_id)).all()
    # A payment's entries belong to its receipt; a void's reversing entries to the void receipt.
    by_payment: dict[tuple[int, bool], int] = {}
    for rid, _number, _at, payment_id, kind in rows:
        if payment_id is not None:
            by_payment.setdefault((payment_id, kind == str(ReceiptKind.VOID)), rid)
    attached: dict[int, list[int]] = {}
    stubs: list[_Stub] = []
    for entry_id, entry in entries.items():
        rid = by_payment.get((entry.payment_id, entry.kind == str(EntryKind.VOID))) if entry.payment_id else None
        if rid is None:
            stubs.append(_Stub(f"{ENTRY_PREFIX}{entry_id}", entry.created_at, None, entry_id))
        else:
            attached.setdefault(rid, []).append(entry_id)
    stubs += [_Stub(f"{RECEIPT_PREFIX}{receipts.format_number(number)}", at, rid, None)
              for rid, number, at, _p, _k in rows]
    stubs.sort(key=lambda s: (s.when, s.receipt_id or 0, s.entry_id or 0), reverse=True)
    return stubs, attached, by_entry, entries


def _items(session: Session, receipt: Receipt, language: str) -> tuple[HistoryItem, ...]:
    if receipt.payment_id is not None and receipt.kind != str(ReceiptKind.VOID):
        rows = session.execute(select(PaymentItem, Bill).outerjoin(Bill, Bill.id == PaymentItem.bill_id)
                               .where(PaymentItem.payment_id == receipt.payment_id).order_by(PaymentItem.id)).all()
        if rows:
            out = []
            for item, bill in rows:
                if bill is not None and item.fee_kind in FeeKind.__members__.values():
                    out.append(HistoryItem(translate(FEE_LABELS[FeeKind(item.fee_kind)], language), item.amount_fen,
                                           bill.period))
                else:
                    out.append(HistoryItem(item.label, item.amount_fen))
            return tuple(out)
    doc = receipts.document(receipt)
    if receipt.kind == str(ReceiptKind.TOP_UP):
        return tuple(HistoryItem(translate(N_("Card top-up"), language), i.amount_fen) for i in doc.items)
    return tuple(HistoryItem(i.label, i.amount_fen, i.detail) for i in doc.items)


def _card_only_kind(session: Session, entry: JournalEntry) -> str:
    if entry.kind == str(EntryKind.TOP_UP):
        other = session.scalars(select(Account.kind).join(JournalLine, JournalLine.account_id == Account.id)
                                .where(JournalLine.entry_id == entry.id)).all()
        if str(AccountKind.OPENING) in other:
            return "card_opening"
    return f"card_{entry.kind}"


def _row(session: Session, stub: _Stub, attached: dict[int, list[int]], by_entry: dict[int, list[CardMove]],
         entries: dict[int, JournalEntry], language: str) -> tuple[HistoryRow, Receipt | None]:
    if stub.receipt_id is not None:
        receipt = session.get(Receipt, stub.receipt_id)
        assert receipt is not None
        doc = receipts.document(receipt)
        moves = tuple(m for entry_id in sorted(attached.get(receipt.id, [])) for m in by_entry[entry_id])
        return HistoryRow(stub.record_id, receipt.issued_at, receipt.kind, _items(session, receipt, language),
                          doc.total_fen or 0, receipts.format_number(receipt.number), receipt.voided, moves), receipt
    assert stub.entry_id is not None
    moves = tuple(by_entry[stub.entry_id])
    return HistoryRow(stub.record_id, stub.when, _card_only_kind(session, entries[stub.entry_id]), (),
                      sum(abs(m.change_fen) for m in moves if m.change_fen > 0) or abs(moves[0].change_fen),
                      moves=moves), None


def household_history(session: Session, household_id: int, language: str, *, offset: int = 0,
                      limit: int = 8) -> HistoryPage:
    """One page of the household's history, newest first; `total` counts every row."""
    offset, limit = max(0, offset), max(1, min(limit, 100))
    stubs, attached, by_entry, entries = _timeline(session, household_id)
    page = tuple(_row(session, s, attached, by_entry, entries, language)[0] for s in stubs[offset:offset + limit])
    return HistoryPage(page, offset, limit, len(stubs))


def history_detail(session: Session, household_id: int, record_id: str, language: str) -> HistoryDetail:
    """Every line of one row: what the receipt printed, and the card movement with the balance before and after.
    Raises NotFound for a record of another household."""
    stubs, attached, by_entry, entries = _timeline(session, household_id)
    stub = next((s for s in stubs if s.record_id == record_id), None)
    if stub is None:
        raise NotFound(f"record {record_id}")
    row, receipt = _row(session, stub, attached, by_entry, entries, language)
    if receipt is None:
        return HistoryDetail(row)
    doc = receipts.document(receipt)
    return HistoryDetail(row, doc.title, _method(session, receipt, language) or doc.payment_method, doc.fields,
                         doc.notes, receipt.reprint_count)


def _method(session: Session, receipt: Receipt, language: str) -> str:
    """How it was paid, in the asked language (the printed receipt says it in the language it was printed in)."""
    payment = session.get(Payment, receipt.payment_id) if receipt.payment_id is not None else None
    if payment is None or payment.method not in PaymentMethod.__members__.values():
        return ""
    return translate(METHOD_LABELS[PaymentMethod(payment.method)], language)
