"""Voiding a receipt's payment: reversing ledger entries, payment VOIDED, receipt kept and marked, a VOID receipt."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session, aliased

from kiosk.domain.payment_code import GATEWAY_NETWORK_LABELS
from kiosk.domain.receipt import ReceiptDocument, ReceiptItem, ReceiptKind
from kiosk.domain.terms import AccountKind, BillStatus, EntryKind, PaymentMethod, PaymentStatus
from kiosk.errors import InsufficientBalance, InvalidEntry, NotFound, ReceiptAlreadyVoided
from kiosk.i18n import N_, translate
from kiosk.invoices import red_letters
from kiosk.persistence.commit_option import riding
from kiosk.persistence.models import (
    Account,
    Bill,
    Booking,
    Card,
    CardOperation,
    GatewayOrderRecord,
    JournalEntry,
    JournalLine,
    ParkingSpace,
    Payment,
    Receipt,
    utcnow,
)
from kiosk.persistence.sums import joined, split_sum
from kiosk.services import audit, ledger, payments, receipts
from kiosk.services.cards import CardWrite, last_done_counter, record_card_write
from kiosk.services.charges import yuan
from kiosk.services.parking import add_months
from kiosk.services.receipts import Till

INVOICE_REASON = "3"  # 服务中止: a voided fee payment is a service not charged after all (the staff may say otherwise)

# What a void takes back: the spending of the money. Notes and QR money that came in (CASH_IN)
# stay as the household's credit, and a card replacement's balance transfer stands.
REVERSIBLE = (EntryKind.BILL_PAYMENT, EntryKind.TOP_UP, EntryKind.CARD_FEE, EntryKind.BOOKING_FEE,
              EntryKind.PARKING_FEE)


@dataclass(frozen=True)
class VoidResult:
    receipt_number: str  # the voided receipt: its number is kept
    void_receipt_number: str
    payment_reference: str
    amount_fen: int
    returned_to: str  # "card" or "credit"
    reversed_entries: tuple[int, ...]
    document: ReceiptDocument
    card_writes: tuple[CardWrite, ...] = ()  # pending "sync" writes for cards whose value changed
    replayed: bool = False  # the same void asked again: what the first one did, nothing done twice


def void_receipt(session: Session, till: Till, *, number: int | str, reason: str, actor: str, language: str,
                 now: datetime | None = None, invoice_reason: str = INVOICE_REASON,
                 refund_at_gateway: bool = False) -> VoidResult:
    """Void the payment behind receipt `number` (same site). Asked again with the same reason (a retry after a
    timeout, or two staff at once: the receipt row is locked), it returns the recorded void (`replayed`);
    with another reason, ReceiptAlreadyVoided. NotFound for an unknown receipt or one without a payment,
    InsufficientBalance when the value to take back has already been spent (e.g. a top-up spent from the card).

    Its e-invoice goes with it (kiosk.invoices.red_letters.on_receipt_voided): cancelled before it was issued,
    reversed by a red letter with `invoice_reason` (1 退货, 2 开票有误, 3 服务中止, 4 折让) and `actor` (the staff
    PIN's identity) once issued."""
    reason = reason.strip()
    if not reason:
        raise InvalidEntry("a void needs a reason", field="reason")
    now = now or utcnow()
    # the receipt, locked (two staff voiding it at once take turns), with its payment: one query
    found = session.execute(select(Receipt, Payment).outerjoin(Payment, Payment.id == Receipt.payment_id)
                            .where(Receipt.site_id == till.site_id, Receipt.number == int(number))
                            .with_for_update(of=Receipt.__table__)).first()
    if found is None:
        raise NotFound(f"receipt {number}")
    receipt, payment = found
    if receipt.voided:
        if receipt.void_reason == reason[:200] and receipt.void_receipt_id is not None:
            return _recorded_void(session, receipt)
        raise ReceiptAlreadyVoided(receipts.format_number(receipt.number))
    if payment is None or receipt.kind == ReceiptKind.VOID:
        raise NotFound(f"receipt {number} has no payment to void")
    if payment.status != PaymentStatus.SUCCEEDED:
        raise ReceiptAlreadyVoided(f"payment {payment.reference} is {payment.status}")
    entries, cards_before = _reversible(session, payment)
    reversals = [ledger.reverse(session, entry, memo=f"void {receipts.format_number(receipt.number)}: {reason}",
                                kiosk_id=till.kiosk_id, lines=lines) for entry, lines in entries]
    after = _refuse_negative_liabilities(session, [e.id for e in reversals])
    writes = _sync_cards(session, payment, cards_before, after)
    payment.status = str(PaymentStatus.VOIDED)
    _undo_effects(session, payment)
    returned = "card" if payment.method == PaymentMethod.CARD else "credit"
    network = _refunded_network(session, payment) if refund_at_gateway else None
    if network is not None:  # kiosk.payments.void_refunds: the QR money goes back to the resident's app
        returned = "gateway"
    original = receipts.document(receipt)
    back = {"card": N_("Returned to the card balance."), "credit": N_("Returned to your account credit."),
            "gateway": N_("Refunded to {network}.")}[returned]
    notes = (translate(N_("Voided: {reason}"), language, reason=reason),
             translate(back, language, network=translate(GATEWAY_NETWORK_LABELS.get(network or "", N_("Scan to pay")),
                                                         language)))
    fields = ((translate(N_("Voided receipt No."), language), receipts.format_number(receipt.number)),
              (translate(N_("Reference"), language), payment.reference),
              (translate(N_("Amount returned"), language), yuan(payment.amount_fen)))
    if returned == "card" and payments.credit_part(payment):  # split tender: each part goes back where it came from
        notes += (translate(N_("Returned to your account credit."), language),)
        fields += ((translate(N_("Paid from account credit"), language), yuan(payments.credit_part(payment))),)
    items = tuple(ReceiptItem(i.label, -i.amount_fen, i.detail) for i in original.items) or (
        ReceiptItem(original.title, -payment.amount_fen),)
    void, doc = receipts.issue(session, till, kind=ReceiptKind.VOID, language=language,
                               title=translate(N_("Void receipt"), language), household_id=receipt.household_id,
                               household_label=original.household, payment_id=payment.id, items=items,
                               total_fen=-payment.amount_fen, fields=fields, notes=notes, now=now)
    receipt.voided, receipt.void_reason, receipt.voided_at, receipt.void_receipt_id = True, reason[:200], now, void.id
    session.flush()
    red_letters.on_receipt_voided(session, receipt.id, actor=actor, reason=invoice_reason, void_receipt_id=void.id,
                                  now=now)
    audit.record(session, actor, "receipt.voided", receipts.format_number(receipt.number), reason=reason,
                 payment=payment.reference, amount_fen=payment.amount_fen,
                 void_receipt=receipts.format_number(void.number))
    return VoidResult(receipts.format_number(receipt.number), receipts.format_number(void.number), payment.reference,
                      payment.amount_fen, returned, tuple(e.id for e in reversals), doc, writes)


def _refunded_network(session: Session, payment: Payment) -> str | None:
    """The network whose paid orders a void refunds at the gateway ("" for a sandbox-era record), or None."""
    if payment.method != PaymentMethod.QR:
        return None
    return session.scalars(select(GatewayOrderRecord.network).where(GatewayOrderRecord.payment_id == payment.id,
                                                                    GatewayOrderRecord.state == "paid")).first()


def _recorded_void(session: Session, receipt: Receipt) -> VoidResult:
    """The void of `receipt` as it was done: its void receipt, reversing entries and card writes."""
    void = session.get(Receipt, receipt.void_receipt_id)
    payment = session.get(Payment, receipt.payment_id)
    if void is None or payment is None:
        raise NotFound(f"the void of receipt {receipt.number}")
    reversals = session.scalars(select(JournalEntry.id).where(JournalEntry.payment_id == payment.id,
                                                              JournalEntry.kind == str(EntryKind.VOID),
                                                              JournalEntry.reverses_entry_id.is_not(None))
                                .order_by(JournalEntry.id)).all()
    syncs = session.scalars(select(CardOperation).where(CardOperation.payment_id == payment.id,
                                                        CardOperation.kind == "sync").order_by(CardOperation.id)).all()
    writes = tuple(CardWrite(op.id, op.kind, op.card_id, card.uid_hex, op.old_value_fen, op.new_value_fen,
                             op.old_counter, op.new_counter)
                   for op in syncs for card in [session.get(Card, op.card_id)] if card is not None)
    return VoidResult(receipts.format_number(receipt.number), receipts.format_number(void.number), payment.reference,
                      payment.amount_fen, "card" if payment.method == PaymentMethod.CARD else "credit",
                      tuple(reversals), receipts.document(void), writes, replayed=True)


Lines = list[tuple[JournalLine, Account]]


def _reversible(session: Session, payment: Payment) -> tuple[list[tuple[JournalEntry, Lines]], dict[int, int]]:
    """What a void takes back, in one query: the payment's REVERSIBLE entries, each with its lines and their
    accounts (for ledger.reverse), and the stored value of every card they touch before the void (card id -> value;
    read without a lock, as the value the card held)."""
    summed = aliased(JournalLine)
    is_card = Account.kind == str(AccountKind.STORED_VALUE)
    sums = [case((is_card, select(part).where(summed.account_id == Account.id).scalar_subquery()))
            for part in split_sum(summed.amount_fen)]  # only a card's account is summed: a revenue account is long
    rows = session.execute(select(JournalEntry, JournalLine, Account, *sums)
                           .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
                           .join(Account, Account.id == JournalLine.account_id)
                           .where(JournalEntry.payment_id == payment.id,
                                  JournalEntry.kind.in_([str(k) for k in REVERSIBLE]),
                                  JournalEntry.reverses_entry_id.is_(None))
                           .order_by(JournalEntry.id, JournalLine.id)).all()
    entries: dict[int, tuple[JournalEntry, Lines]] = {}
    cards: dict[int, int] = {}
    for entry, line, acct, high, low in rows:
        entries.setdefault(entry.id, (entry, []))[1].append((line, acct))
        if acct.kind == AccountKind.STORED_VALUE and acct.card_id is not None:
            cards[acct.card_id] = -joined(high, low)
    return list(entries.values()), cards


def _sync_cards(session: Session, payment: Payment, before: dict[int, int],
                after: dict[int, int]) -> tuple[CardWrite, ...]:
    """The card keeps a copy of its value: a void that changes it leaves a pending "sync" write for
    the card application to apply on the card's next tap. `after`: the liability balances read under the
    accounts' locks once the void was posted (account id -> balance), not summed again."""
    writes = []
    for card_id, old_value in sorted(before.items()):
        acct = ledger.account(session, AccountKind.STORED_VALUE, card_id=card_id)
        new_value = after[acct.id] if acct.id in after else ledger.liability_balance(session, acct)
        found = session.execute(select(Card, last_done_counter(Card.id)).where(Card.id == card_id)).first()
        if found is not None and new_value != old_value:
            writes.append(record_card_write(session, found[0], kind="sync", old_value_fen=old_value,
                                            new_value_fen=new_value, payment_id=payment.id, last_counter=found[1]))
    return tuple(writes)


def _refuse_negative_liabilities(session: Session, entry_ids: list[int]) -> dict[int, int]:
    """Stored value and credit never go below zero, voids included. Returns what each holds now (account id ->
    liability balance, read under its lock: nobody spends from it until this transaction ends)."""
    if not entry_ids:
        return {}
    accounts = session.scalars(select(Account).join(JournalLine, JournalLine.account_id == Account.id)
                               .where(JournalLine.entry_id.in_(entry_ids),
                                      Account.kind.in_([str(AccountKind.STORED_VALUE), str(AccountKind.CREDIT)]))
                               .distinct()).all()
    left_now: dict[int, int] = {}
    for acct in sorted(accounts, key=ledger.lock_order):  # the order a payment locks them in
        left = ledger.locked_liability(session, acct)
        if left < 0:
            raise InsufficientBalance(f"{acct.code} would be {left}", available_fen=left)
        left_now[acct.id] = left
    return left_now


def _undo_effects(session: Session, payment: Payment) -> None:
    """What the payment bought goes back: bills open again, booking cancelled, parking date restored."""
    # nobody reads their answers: on PostgreSQL they go with the next statement (kiosk.persistence.with_commit)
    session.execute(update(Bill).where(Bill.payment_id == payment.id, Bill.status == str(BillStatus.PAID))
                    .values(status=str(BillStatus.OPEN), payment_id=None).execution_options(synchronize_session=False),
                    execution_options=riding())
    session.execute(update(Booking).where(Booking.payment_id == payment.id).values(status="cancelled")
                    .execution_options(synchronize_session=False), execution_options=riding())
    details = json.loads(payment.details or "{}")
    if payment.purpose == "parking" and "space_id" in details:
        space = session.get(ParkingSpace, details["space_id"])
        previous = details.get("previous_paid_until")
        if space is not None and space.paid_until is not None:
            if space.paid_until.isoformat() == details.get("paid_until"):  # nothing paid since: put it back
                space.paid_until = date.fromisoformat(previous) if previous else None
            else:  # a later payment extended it: take back only this payment's months
                space.paid_until = add_months(space.paid_until, -int(details.get("months", 0)))
    session.flush()
