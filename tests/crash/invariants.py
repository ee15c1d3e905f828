"""What must hold after any crash: the ledger's own rules (they hold in every committed state, so also in a
power-loss copy), and once the restarted kiosk has settled, that nothing is left half done and that the
ledger agrees with what the devices saw (notes in the cash box, money at the gateway, value on each card).

The rules `kiosk audit verify` checks come from its own service (kiosk.services.integrity: the keyed chain,
balanced entries, no negative liability, no bill paid twice, gap-free receipt numbers, card values); the
harness adds what only it can see (the devices) and what a settled kiosk must also show.
Each check returns findings: one line per broken rule, naming the rows. None may ever be found.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.cards import reconcile
from kiosk.cards.layout import CardFormatError, decode_card
from kiosk.domain.receipt import ReceiptKind
from kiosk.domain.terms import AccountKind, BillStatus, PaymentStatus
from kiosk.persistence.models import (Account, Bill, Card, CardOperation, GatewayOrderRecord, JournalLine, Payment,
                                      PaymentItem, Receipt)
from kiosk.ports import CardUid
from kiosk.services import cards as card_service
from kiosk.services import integrity, ledger

SPENT = (str(PaymentStatus.SUCCEEDED), str(PaymentStatus.VOIDED))
KIOSK_BLOCKS = (4, 5, 6, 8)


def ledger_findings(s: Session, audit_key: bytes) -> list[str]:
    """The rules of the books, true in every committed state: `kiosk audit verify`'s (every problem it finds,
    not only the first), what a household owes, what holds each bill, which payment has which receipts."""
    out = [f"kiosk audit verify: {p}" for p in integrity.verify(s, audit_key).problems]
    sums = dict(s.execute(select(JournalLine.account_id, func.sum(JournalLine.amount_fen))
                          .group_by(JournalLine.account_id)).all())
    out += _receivables(s, sums)
    out += _bills(s)
    out += _receipts(s)
    return out


def _receivables(s: Session, sums: dict[int, Any]) -> list[str]:
    """What a household owes on the ledger is exactly its bills not paid (open, or held by a payment)."""
    out = []
    owed = dict(s.execute(select(Bill.household_id, func.sum(Bill.amount_fen))
                          .where(Bill.status.in_((str(BillStatus.OPEN), str(BillStatus.PENDING))))
                          .group_by(Bill.household_id)).all())
    for acct in s.scalars(select(Account).where(Account.kind == str(AccountKind.RECEIVABLE))):
        on_books = int(sums.get(acct.id, 0) or 0)
        if on_books != int(owed.get(acct.household_id, 0) or 0):
            out.append(f"household {acct.household_id} owes {on_books} on the ledger, "
                       f"{int(owed.get(acct.household_id, 0) or 0)} in open bills")
    return out


def _bills(s: Session) -> list[str]:
    """No bill paid twice; a paid bill belongs to a succeeded payment, a held one to an unfinished payment."""
    out = []
    status = {p.id: p.status for p in s.scalars(select(Payment))}
    paid_by = Counter(bill for bill, pay in s.execute(select(PaymentItem.bill_id, PaymentItem.payment_id)
                                                      .where(PaymentItem.bill_id.is_not(None)))
                      if status.get(pay) == PaymentStatus.SUCCEEDED)
    twice = sorted(b for b, n in paid_by.items() if n > 1)
    if twice:
        out.append(f"bills paid by more than one payment: {twice}")
    for bill in s.scalars(select(Bill)):
        owner = status.get(bill.payment_id) if bill.payment_id else None
        if bill.status == BillStatus.PAID and (owner != PaymentStatus.SUCCEEDED or paid_by[bill.id] != 1):
            out.append(f"bill {bill.id} is paid but its payment {bill.payment_id} is {owner}")
        elif bill.status == BillStatus.PENDING and owner != PaymentStatus.INTENT:
            out.append(f"bill {bill.id} is held by payment {bill.payment_id}, which is {owner}")
        elif bill.status == BillStatus.OPEN and paid_by[bill.id]:
            out.append(f"bill {bill.id} is open but a succeeded payment paid it")
    return out


def _receipts(s: Session) -> list[str]:
    """Every payment that completed has its one receipt, a voided one its void receipt too, nothing else one."""
    out = []
    kinds = list(s.execute(select(Receipt.payment_id, Receipt.kind).where(Receipt.payment_id.is_not(None))))
    sales = Counter(pid for pid, kind in kinds if kind != ReceiptKind.VOID)
    voids = Counter(pid for pid, kind in kinds if kind == ReceiptKind.VOID)
    for p in s.scalars(select(Payment)):
        want_sale = 1 if p.status in SPENT else 0
        want_void = 1 if p.status == PaymentStatus.VOIDED else 0
        if sales[p.id] != want_sale or voids[p.id] != want_void:
            out.append(f"payment {p.reference} ({p.status}) has {sales[p.id]} receipt(s), {voids[p.id]} void(s)")
    return out


def settled_findings(s: Session, *, audit_key: bytes, kiosk_id: int, mac_key: bytes, cards: dict[str, Any],
                     cash_box_fen: int, gateway: dict[str, Any]) -> list[str]:
    """After the restart has settled: nothing half done, and the ledger says what the devices saw.
    `cards`: uid -> VirtualMifareCard; `cash_box_fen`: the value of the notes in the validator's box;
    `gateway`: the gateway's own records (orders and refunds)."""
    out = ledger_findings(s, audit_key)
    left = [p.reference for p in s.scalars(select(Payment).where(Payment.status == str(PaymentStatus.INTENT)))]
    if left:
        out.append(f"payments left unfinished after the restart: {left}")
    pending = s.scalars(select(CardOperation).where(CardOperation.status == "pending")).all()
    if pending:
        out.append("card writes left open: " + ", ".join(f"{o.kind} #{o.id} card {o.card_id}" for o in pending))
    out += _cards(s, mac_key, cards)
    box = ledger.balance(s, ledger.account(s, AccountKind.CASH_BOX, kiosk_id=kiosk_id))
    if box != cash_box_fen:
        out.append(f"the cash box holds {cash_box_fen} fen of notes, the ledger says {box}")
    out += _gateway(s, gateway)
    return out


def _cards(s: Session, mac_key: bytes, images: dict[str, Any]) -> list[str]:
    out = []
    for card in s.scalars(select(Card).order_by(Card.id)):
        if card.flagged_reason:
            out.append(f"card {card.uid_hex} was flagged: {card.flagged_reason}")
        image = images.get(card.uid_hex)
        if image is None or card.status == "replaced":
            continue  # a replaced card is dead: its chip keeps the old value, its account moved on
        try:
            found = decode_card(mac_key, CardUid(bytes.fromhex(card.uid_hex)),
                                *(bytes(image.blocks[b]) for b in KIOSK_BLOCKS))
        except (CardFormatError, ValueError) as exc:
            out.append(f"card {card.uid_hex} does not read as a kiosk card: {exc}")
            continue
        state = card_service.ledger_card_state(s, card.id)
        record = reconcile.card_record(card_service.card_facts(s, card))
        if not found.mac_ok or found.record != record or found.state != (state.value_fen, state.counter):
            out.append(f"card {card.uid_hex} holds {found.state} (MAC {'ok' if found.mac_ok else 'bad'}), "
                       f"the ledger says {(state.value_fen, state.counter)}")
    return out


def _gateway(s: Session, records: dict[str, Any]) -> list[str]:
    """Money the gateway took (paid orders less refunds) is exactly what the ledger holds at the gateway."""
    out = []
    taken = sum(o["amount_fen"] for o in records["orders"] if o["paid_at"])
    refunded = sum(r["amount_fen"] for r in records["refunds"])
    clearing = ledger.balance(s, ledger.account(s, AccountKind.GATEWAY_CLEARING))
    if clearing != taken - refunded:
        out.append(f"the gateway took {taken} fen and refunded {refunded}, the ledger holds {clearing} there")
    states = dict(s.execute(select(GatewayOrderRecord.order_id, GatewayOrderRecord.state)).all())
    for o in records["orders"]:
        if o["state"] == "pending":
            out.append(f"gateway order {o['order_id']} is still open at the gateway after the restart")
        if o["paid_at"] and states.get(o["order_id"]) not in ("paid", "refunded", "credited"):
            out.append(f"gateway order {o['order_id']} was paid, the kiosk's record says {states.get(o['order_id'])}")
    return out
