"""The ledger side of a tap: which open card writes a card has, what each must become, and the bookkeeping
once the card says where it stands (the device side is kiosk.cards.station).

An open write is a pending CardOperation. Its goal is APPLY (the card must end holding the new value)
or UNDO (the card must end holding the old value, and the payment does not complete):

| write | payment | card holds it | goal |
|-------|---------|---------------|------|
| issue | any | - | APPLY (the ledger is already final) |
| sync | any | - | APPLY (a void already changed the ledger: the card follows it) |
| any | none / succeeded | - | APPLY (the card follows the ledger) |
| any | failed / cancelled / voided | - | UNDO (the money never moved on the ledger) |
| top_up | intent | either | APPLY (completed, or re-applied) and settled if the household's credit still covers it, else UNDO (the value taken back off the card): cancelled, the money kept as credit |
| spend | intent, bills | yes | APPLY, then the bills are settled |
| spend | intent, other purposes | yes | UNDO (their settlement belongs to their own use case) |
| spend | intent | no | UNDO: the payment is cancelled, its bills released |
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, String, and_, bindparam, select, true
from sqlalchemy.orm import Session, aliased, sessionmaker

from kiosk.cards.layout import HOUSEHOLD_MAX_BYTES, MAX_CARD_NUMBER, MAX_ISSUE_SEQ, CardKind, CardRecord
from kiosk.domain.terms import AccountKind, PaymentPurpose, PaymentStatus
from kiosk.errors import (CardBlocked, CardFlagged, CardReplaced, CardUnknown, InsufficientBalance, NotFound,
                          PaymentError)
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Account, Card, CardOperation, Household, JournalLine, Payment
from kiosk.persistence.sums import joined, split_sum
from kiosk.services import card_value, cards, ledger, payments
from kiosk.services.cards import CardFacts, CardWrite
from kiosk.services.receipts import Till


class Goal(StrEnum):
    APPLY = "apply"
    UNDO = "undo"


@dataclass(frozen=True)
class OpenWrite:
    write: CardWrite
    payment_id: int | None
    payment_status: str
    purpose: str


def card_record(facts: CardFacts) -> CardRecord:
    """The record a card of the ledger must carry: the digits of its printed number (or its id), its
    kind, the household's unit number (up to 16 UTF-8 bytes) and its issue sequence."""
    digits = "".join(ch for ch in facts.card_no if ch.isdigit())
    number = int(digits) if digits and 0 < int(digits) <= MAX_CARD_NUMBER else facts.card_id
    ref = facts.household_ref.encode("utf-8")[:HOUSEHOLD_MAX_BYTES].decode("utf-8", "ignore") or "-"
    return CardRecord(number, CardKind(facts.kind), ref, min(facts.issue_seq, MAX_ISSUE_SEQ))


def tapped_card(factory: sessionmaker[Session], uid_hex: str) -> CardFacts:
    """The ledger's card for a UID; unknown, lost and replaced cards are refused before the card is read.
    (Frozen cards are verified like any other; identification refuses them afterwards.)

    One query (`_tap_facts`): the card, its household's unit, whether anything of the card is open (a pending write,
    or a last done write that is a spend whose payment never settled: what `resolve_open_writes` brings to its goal)
    and, for a card with nothing open, the ledger's state the card must match (`CardFacts.ledger`), so a tap with
    nothing to resolve reads nothing more. On PostgreSQL one round trip: the query alone, no BEGIN or COMMIT
    (`unit_of_work(read_only=True)`)."""
    with unit_of_work(factory, read_only=True) as session:  # one query: one round trip (no BEGIN, no COMMIT)
        return _facts_of(session.execute(_tap_facts(), {"uid": uid_hex}).first(), uid_hex)


@dataclass(frozen=True)
class Spend:
    """A card payment's pending spend write, recorded before the card is touched."""

    write: CardWrite  # with the row as recorded (`operation`): `done_with_settlement` marks it done without a read
    reference: str  # the payment's, for the person to show staff


def spend_at_tap(factory: sessionmaker[Session], uid_hex: str, payment_id: int) -> tuple[CardFacts, Spend | None]:
    """The tap of a card payment's move: the card read as `tapped_card` reads it (refused when flagged) with the
    payment, and, for a card with nothing open and a payment still an intent, its spend write recorded in the same
    transaction: one query and its COMMIT. No spend: something is open or the payment is no longer an intent; the
    caller resolves what is open (kiosk.cards.station.resolve_open_writes), then `record_spend` decides."""
    with unit_of_work(factory) as session:
        row = session.execute(_tap_facts(with_payment=True), {"uid": uid_hex, "payment_id": payment_id}).first()
        facts = refuse_flagged(_facts_of(row, uid_hex))
        card, pay = row[0], row[-1]
        if pay is None:
            raise NotFound(f"payment {payment_id}")
        if facts.ledger is None or pay.status != PaymentStatus.INTENT:
            return facts, None
        return facts, _spend(session, card, pay, facts.ledger.value_fen, facts.ledger.counter)


def write_at_tap(factory: sessionmaker[Session], w: CardWrite) -> tuple[CardFacts, str]:
    """The tap of a write the services recorded (top-up, sync, issue): the card read as `tapped_card` reads it, with
    `w` itself not counted as open, and the reference the person is told to show staff if the write is cut short
    (its payment's, or the operation's): one query, one round trip. A flagged card is refused, except for an issue
    (a new card)."""
    with unit_of_work(factory, read_only=True) as session:
        row = session.execute(_tap_facts(for_write=True), {"uid": w.uid_hex, "operation_id": w.operation_id}).first()
        facts = _facts_of(row, w.uid_hex)
        if w.kind != "issue":
            refuse_flagged(facts)
        return facts, row[-1] or f"card operation {w.operation_id}"


def refuse_flagged(facts: CardFacts) -> CardFacts:
    """CardFlagged (E4014) for a card flagged for staff: refused at every tap, for every use, until a staff repair
    clears the flag."""
    if facts.flagged_reason:
        raise CardFlagged(f"card {facts.card_no}: {facts.flagged_reason}")
    return facts


def _facts_of(row: Any, uid_hex: str) -> CardFacts:
    """CardFacts of a `_tap_facts` row; unknown, lost and replaced cards refused."""
    if row is None:
        raise CardUnknown(uid_hex)
    card, unit_no, pending, orphaned, counter, high, low = row[:7]
    if card.status == "replaced":
        raise CardReplaced(card.card_no)
    if card.status == "lost":
        raise CardBlocked(card.card_no)
    state = None if pending or orphaned else cards.LedgerCardState(card.id, int(counter or 0), -joined(high, low), ())
    return CardFacts(card.id, card.uid_hex, card.card_no, card.kind, card.status, unit_no, card.issue_seq,
                     card.flagged_reason or "", ledger=state)


@functools.cache
def _tap_facts(with_payment: bool = False, for_write: bool = False) -> Any:
    """`tapped_card`'s query, built once each way: `with_payment`, the payment `payment_id` as its last column
    (`spend_at_tap`); `for_write`, the write `operation_id` being performed left out of what is open and its
    payment's reference as the last column (`write_at_tap`). The stored value is summed in two halves
    (kiosk.persistence.sums) by subqueries on the card's row, as SQLite has no LATERAL."""
    account_id = (select(Account.id).where(Account.code == ledger.code_of(AccountKind.STORED_VALUE, Card.id))
                  .correlate(Card).scalar_subquery())
    high, low = (select(half).where(JournalLine.account_id == account_id).correlate(Card).scalar_subquery()
                 for half in split_sum(JournalLine.amount_fen))
    pending = cards.pending_write_exists(Card.id)
    if for_write:
        pending = pending.where(CardOperation.id != bindparam("operation_id", type_=BigInteger))
    unsettled = cards.last_done_unsettled(Card.id).correlate(Card)
    query = (select(Card, Household.unit_no, pending, unsettled, cards.last_done_counter(Card.id), high, low)
             .join(Household, Household.id == Card.household_id)
             .where(Card.uid_hex == bindparam("uid", type_=String)))
    if with_payment:
        return query.add_columns(Payment).outerjoin(Payment, Payment.id == bindparam("payment_id", type_=BigInteger))
    if for_write:
        written = aliased(CardOperation)
        return query.add_columns(select(Payment.reference).join(written, written.payment_id == Payment.id)
                                 .where(written.id == bindparam("operation_id", type_=BigInteger)).scalar_subquery())
    return query


def open_writes(factory: sessionmaker[Session], card_id: int) -> tuple[OpenWrite, ...]:
    with unit_of_work(factory) as session:
        out = []
        for w in cards.pending_card_writes(session, card_id):
            op = session.get(CardOperation, w.operation_id)
            pay = session.get(Payment, op.payment_id) if op and op.payment_id else None
            out.append(OpenWrite(w, pay.id if pay else None, pay.status if pay else "", pay.purpose if pay else ""))
        return tuple(out)


def orphaned_spend(factory: sessionmaker[Session], card_id: int) -> OpenWrite | None:
    """The card's last done write, if it is a payment from the card whose payment never settled: the kiosk
    stopped between the verified write and the settlement, or the settlement was refused afterwards.
    The card holds less than the ledger; the payment is then settled or the value given back."""
    with unit_of_work(factory) as session:
        op = session.scalars(cards.last_done_write(select(CardOperation), card_id)).first()
        if op is None or op.kind != "spend" or op.payment_id is None:
            return None
        pay = session.get(Payment, op.payment_id)
        if pay is None or pay.status == PaymentStatus.SUCCEEDED:
            return None
        return OpenWrite(cards.write_of(session, op), pay.id, pay.status, pay.purpose)


def give_up_payment(factory: sessionmaker[Session], till: Till, ow: OpenWrite, code: str) -> OpenWrite:
    """The payment cannot be settled after all (its settlement was refused): fail it; the card gets its
    value back. Returns the open write as it now stands."""
    with unit_of_work(factory) as session:
        pay = session.get(Payment, ow.payment_id)
        if pay is not None:
            payments.fail(session, till, pay, code)
            status = pay.status
        else:
            status = ""
    return OpenWrite(ow.write, ow.payment_id, status, ow.purpose)


def goal_for(factory: sessionmaker[Session], ow: OpenWrite, card_holds_it: bool) -> Goal:
    if ow.write.kind in ("issue", "sync") or ow.payment_id is None or ow.payment_status == PaymentStatus.SUCCEEDED:
        return Goal.APPLY
    if ow.payment_status != PaymentStatus.INTENT:
        return Goal.UNDO
    if ow.write.kind == "top_up":  # applied on the card or not, the ledger must be able to fund it
        with unit_of_work(factory) as session:
            pay = session.get(Payment, ow.payment_id)
            credit = ledger.account(session, AccountKind.CREDIT, household_id=pay.household_id)
            return Goal.APPLY if ledger.liability_balance(session, credit) >= pay.amount_fen else Goal.UNDO
    if card_holds_it and ow.purpose == PaymentPurpose.BILLS:
        return Goal.APPLY
    return Goal.UNDO


def finish(factory: sessionmaker[Session], till: Till, ow: OpenWrite, goal: Goal, *, card_counter: int,
           card_value_fen: int, language: str, actor: str) -> None:
    """Record what the card now holds for an open write brought to its goal (one transaction)."""
    w = ow.write
    if goal is Goal.APPLY and w.kind == "top_up" and ow.payment_status == PaymentStatus.INTENT:
        card_value.complete_top_up(factory, till, ow.payment_id or 0, w.operation_id)
        return
    with unit_of_work(factory) as session:
        pay = payments.lock_payment(session, ow.payment_id) if ow.payment_id else None  # as a use case settles
        if goal is Goal.APPLY:
            cards.resolve_card_write(session, w.operation_id, done=True, actor=actor)
            if pay is not None and pay.status == PaymentStatus.INTENT and w.kind == "spend":
                payments.settle_bill_payment(session, till, pay, language)
            return
        cards.resolve_card_write(session, w.operation_id, done=False, actor=actor, error="undone at tap")
        if card_counter != w.old_counter:  # a torn MAC was replaced or the value given back: counter moved on
            cards.record_card_sync(session, w.card_id, old_value_fen=w.new_value_fen, value_fen=card_value_fen,
                                   old_counter=w.new_counter, counter=card_counter, actor=actor,
                                   reason=f"operation {w.operation_id} undone")
        if pay is not None and pay.status == PaymentStatus.INTENT:
            if w.kind == "top_up":
                card_value.cancel_top_up(session, till, pay, w.operation_id, "E4010")
            else:
                payments.fail(session, till, pay, "E4010", cancelled=True)


def record_spend(factory: sessionmaker[Session], payment_id: int, card_id: int) -> Spend | None:
    """The pending card write of a card payment, tied to it; reuses the one already open for the payment. None for
    a payment settled already (an open write of it, found on the card at this tap, settled it). Raises PaymentError
    for a payment neither settled nor an intent. What it decides on (the payment, the card, a write already open,
    the card's value and its last done counter) is read in one query (`_spend_facts`), so the transaction is that
    query and its COMMIT. (A card with nothing open had its spend recorded with the tap: `spend_at_tap`.)"""
    with unit_of_work(factory) as session:
        code = ledger.account_code(AccountKind.STORED_VALUE, card_id=card_id)
        row = session.execute(_spend_facts(), {"payment_id": payment_id, "card_id": card_id, "code": code}).first()
        if row is None:
            raise NotFound(f"payment {payment_id}")
        pay, card, op, high, low, last_counter = row
        if pay.status == PaymentStatus.SUCCEEDED:
            return None
        if pay.status != PaymentStatus.INTENT:
            raise PaymentError(f"payment {pay.reference} is {pay.status}", reference=pay.reference)
        if card is None:
            raise CardUnknown(f"card {card_id}")
        if op is not None:
            w = CardWrite(op.id, op.kind, card.id, card.uid_hex, op.old_value_fen, op.new_value_fen,
                          op.old_counter, op.new_counter, op)
            return Spend(w, pay.reference)
        return _spend(session, card, pay, -joined(high, low), last_counter)


def _spend(session: Session, card: Card, pay: Payment, value: int, last_counter: int | None) -> Spend:
    """The spend write of `pay` recorded: value - what the card pays (split tender: what account credit does not)."""
    due = payments.other_part(pay)
    if value < due:
        raise InsufficientBalance(f"needs {due}, has {value}", available_fen=value)
    w = cards.record_card_write(session, card, kind="spend", old_value_fen=value, new_value_fen=value - due,
                                payment_id=pay.id, last_counter=last_counter)
    return Spend(w, pay.reference)


def done_with_settlement(spend: Spend, actor: str) -> Callable[[Session], None]:
    """What a card payment's settlement records in its own transaction once the card holds the spend
    (payments.settle_or_fail's `also`): the write done, its row merged as recorded, not read again. If the settlement
    does not commit, the write stays pending and the card's next tap settles the payment or gives the value back."""
    def done(session: Session) -> None:
        cards.resolve_card_write(session, spend.write.operation_id, done=True, actor=actor,
                                 recorded=spend.write.operation)

    return done


@functools.cache
def _spend_facts() -> Any:
    """`record_spend`'s query, built once: the payment, the card, the payment's open write (the first, if any), the
    card's stored value (read without a lock, as before: the card itself holds the value being spent, and the
    settlement spends the ledger's under its account's lock) and the card's last done counter."""
    balance = ledger.balance_row(bindparam("code", type_=String))
    card_id = bindparam("card_id", type_=BigInteger)
    open_write = aliased(CardOperation)  # not the counter's subquery's table, which must not correlate to it
    return (select(Payment, Card, open_write, balance.c.high, balance.c.low, cards.last_done_counter(card_id))
            .select_from(Payment).outerjoin(Card, Card.id == card_id)
            .outerjoin(open_write, and_(open_write.payment_id == Payment.id, open_write.status == "pending"))
            .join(balance, true())
            .where(Payment.id == bindparam("payment_id", type_=BigInteger)).order_by(open_write.id).limit(1))


def ledger_state(factory: sessionmaker[Session], card_id: int) -> cards.LedgerCardState:
    with unit_of_work(factory) as session:
        return cards.ledger_card_state(session, card_id)


REBASED_KINDS = ("top_up", "sync")  # writes recorded by the services from the ledger, possibly behind the card


def rebased(factory: sessionmaker[Session], w: CardWrite) -> CardWrite:
    """A pending top-up or sync write `w` (a void's) recorded while another write of the card was open takes its old
    value and counter from the ledger as it was then. Once the station has brought the writes before it to their
    goal, the card holds what the last done write of the card says, not that: `w` is moved onto it (the same change
    on top: a top-up's amount, a void's refund), before the card is touched. Without that the card, holding what the
    other write left, looked changed behind the ledger's back and was flagged as tampered. Unchanged (no write)
    when they agree, which is every write recorded while nothing else of the card was open."""
    with unit_of_work(factory) as session:
        last = session.execute(cards.last_done_write(select(CardOperation.new_value_fen, CardOperation.new_counter),
                                                     w.card_id)).first()
        if last is None or (last[0], last[1]) == (w.old_value_fen, w.old_counter):
            return w
        op = session.get(CardOperation, w.operation_id)
        if op is None or op.status != "pending":
            raise NotFound(f"the pending card write {w.operation_id}")
        change = w.new_value_fen - w.old_value_fen
        op.old_value_fen, op.new_value_fen, op.old_counter, op.new_counter = last[0], last[0] + change, last[1], \
            last[1] + 1
        session.flush()
        return CardWrite(op.id, op.kind, w.card_id, w.uid_hex, op.old_value_fen, op.new_value_fen, op.old_counter,
                         op.new_counter)


def flag(factory: sessionmaker[Session], card_id: int, reason: str, actor: str) -> None:
    with unit_of_work(factory) as session:
        cards.flag_card(session, card_id, reason, actor)
