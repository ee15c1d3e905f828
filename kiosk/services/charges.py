"""Fee payments for resident services (card replacement, bookings, parking) on the payments pattern.

The intent (with its items) is written first in its own transaction, money moves (cards, notes, QR)
through a `move_money` callable, and the settle step spends it from the card's stored value or the
household's credit into revenue per fee kind, together with the use case's own changes and receipt.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kiosk.domain.money import Money
from kiosk.domain.terms import AccountKind, CardStatus, EntryKind, PaymentMethod, PaymentPurpose, PaymentStatus
from kiosk.errors import (CardBlocked, CardFlagged, CardFrozen, CardReplaced, CardUnknown, InsufficientBalance,
                          InvalidAmount, NotFound)
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Card, Household, Payment, PaymentItem
from kiosk.services import ledger, payments, split_tender
from kiosk.services.receipts import Till

R = TypeVar("R")


@dataclass(frozen=True)
class FeeLine:
    fee_kind: str  # FeeKind value (or "top_up")
    label: str  # short text for the payment item (already in the customer's language)
    amount_fen: int


def actor_of(till: Till) -> str:
    return f"kiosk:{till.kiosk_code}"


def yuan(fen: int) -> str:
    return Money(fen).plain()


def household(session: Session, household_id: int) -> Household:
    found = session.get(Household, household_id)
    if found is None:
        raise NotFound(f"household {household_id}")
    return found


def usable_card(card: Card | None) -> Card:
    """The one rule for every card use: unknown, lost, flagged, frozen and replaced cards are refused."""
    if card is None:
        raise CardUnknown()
    if card.status == CardStatus.REPLACED:
        raise CardReplaced(card.card_no)
    if card.status == CardStatus.LOST:
        raise CardBlocked(card.card_no)
    refuse_flagged(card)
    if card.status == CardStatus.FROZEN:
        raise CardFrozen(card.card_no)
    return card


def refuse_flagged(card: Card) -> None:
    """A card flagged as tampered or rolled back is refused for every use until staff repair it."""
    if card.flagged_reason:
        raise CardFlagged(card.card_no)


def start_fee_payment(session: Session, till: Till, *, key: str, purpose: PaymentPurpose, method: PaymentMethod,
                      household_id: int, lines: Sequence[FeeLine], card_id: int | None = None,
                      details: dict[str, Any] | None = None, fingerprint: dict[str, Any] | None = None,
                      blocked_card_ok: bool = False, credit_fen: int = 0,
                      known: Payment | None = payments.NOT_LOOKED_UP) -> tuple[Payment, bool]:
    """Record the intent and its items; with the card method, refuse a short balance before money moves.

    `blocked_card_ok` lets a lost or frozen card's value pay (only the replacement fee does that).
    `credit_fen` is the part paid from the household's account credit (split tender). `known`: the payment the
    caller already looked up under `key` in this transaction (None: there is none; one query less).
    """
    amount = sum(line.amount_fen for line in lines)
    if not lines or any(line.amount_fen <= 0 for line in lines):
        raise InvalidAmount(str([line.amount_fen for line in lines]))
    found = payments.find_by_key(session, key) if known is payments.NOT_LOOKED_UP else known
    known = found is not None  # a retry: its outcome, whatever the card is now
    if method == PaymentMethod.CARD and not known:
        card = session.get(Card, card_id) if card_id is not None else None
        if not (blocked_card_ok and card is not None and card.status in (CardStatus.LOST, CardStatus.FROZEN)):
            card = usable_card(card)
        assert card is not None
        refuse_flagged(card)  # a lost or frozen card may pay its replacement fee, a flagged one not
        if card.household_id != household_id:
            raise CardUnknown(f"card {card_id} is not of household {household_id}")
    payment, replayed = payments.record_intent(session, till, key=key, purpose=purpose, method=method,
                                               amount_fen=amount, household_id=household_id, card_id=card_id,
                                               details=details, fingerprint=fingerprint, credit_fen=credit_fen,
                                               known=found)
    if replayed:
        return payment, True
    session.add_all([PaymentItem(payment_id=payment.id, fee_kind=line.fee_kind, label=line.label[:120],
                                 amount_fen=line.amount_fen) for line in lines])
    session.flush()
    if method == PaymentMethod.CARD:
        available = ledger.liability_balance(session, payments.source_account(session, payment))
        if available < payments.other_part(payment):
            raise InsufficientBalance(f"needs {payments.other_part(payment)}, has {available}",
                                      available_fen=available)
    return payment, False


def collect(session: Session, till: Till, payment: Payment, kind: EntryKind) -> int:
    """Spend the payment's amount into revenue per item: the credit part first, then the other method's
    part, each a balanced entry (payments.post_parts); returns the method's source balance after.

    The sources (stored value, credit) are locked and never go below zero.
    """
    read = payments.locked_items(session, payment)  # read with the payment's lock (settle_or_fail), or now
    items = ([item for item, _period, _unit in read if item is not None] if read is not None else
             session.scalars(select(PaymentItem).where(PaymentItem.payment_id == payment.id)
                             .order_by(PaymentItem.id)).all())
    by_kind: dict[str, int] = {}
    for item in items:
        by_kind[item.fee_kind] = by_kind.get(item.fee_kind, 0) + item.amount_fen
    payments.post_parts(session, till, payment, kind,
                        [(ledger.account(session, AccountKind.REVENUE, fee_kind=fee), amount)
                         for fee, amount in sorted(by_kind.items())])
    # known from the balance read under the source's lock in post_parts: not summed again
    return split_tender.balance_after(session, payments.source_account(session, payment))


def run(factory: sessionmaker[Session], till: Till, *, key: str, start: Callable[[Session], tuple[Payment, bool]],
        settle: Callable[[Session, Payment], R], replay: Callable[[Session, Payment], R],
        on_fail: Callable[[Session, Payment], None] | None = None,
        move_money: payments.MoveMoney | None = None, locks_card: int | None = None) -> R:
    """Intent (own transaction) -> money moves -> settle (own transaction), as payments.pay_bills, holding `key`
    for the attempt (payments.run_attempt). `locks_card`: a card `settle` locks (payments.settle_or_fail's card_id).

    A replay of a finished payment returns `replay(...)` (or the error it failed with); an unfinished one
    nobody is working on resumes. If `move_money` raises, the payment fails, `on_fail` releases what the
    intent reserved, and the error propagates; money that already arrived stays as the household's credit.
    """
    def body() -> R:  # one attempt (payments.run_attempt)
        with unit_of_work(factory) as session:
            payment, replayed = start(session)
            if replayed and payment.status != PaymentStatus.INTENT:
                return payments.replay_or_raise(session, payment, replay)
            payment_id = payment.id
        settled_with = None
        if move_money is not None:
            try:
                settled_with = move_money(payment)
            except Exception as exc:
                with unit_of_work(factory) as session:
                    failed = payments.lock_payment(session, payment_id)
                    was_open = failed.status == PaymentStatus.INTENT
                    code, params = payments.failure_of(exc)
                    payments.fail(session, till, failed, code, params=params)
                    if on_fail is not None and was_open:
                        on_fail(session, failed)
                raise
        return payments.settle_or_fail(factory, till, payment_id, settle, on_fail, replay=replay, intent=payment,
                                       card_id=locks_card, also=settled_with)

    return payments.run_attempt(factory, key, body)
