"""The money use cases as a kiosk's runtime calls them (kiosk.services, what RuntimeKioskServices runs), with the
money arriving as the devices would bring it: a banknote stacked (`payments.record_cash_in` with the validator's
counter), the gateway's paid notification (`payments.record_gateway_paid`), a card that takes its write.

Used by the round-trip pin (tests/persistence/test_round_trips.py) and the fleet bench (bench/fleet.py): the
database is what they measure, so the devices are represented by what they hand the services, not driven
over their wires (the card, cash and QR wire paths have their own benches: bench/card.py, bench/journeys.py).
"""
from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from kiosk.cards import reconcile
from kiosk.domain.terms import PaymentMethod
from kiosk.errors import CardRemoved, CardWritePending
from kiosk.persistence.db import unit_of_work
from kiosk.services import card_replacement, card_value, payments, voids
from kiosk.services.cards import CardWrite
from kiosk.services.receipts import Till

_notes = itertools.count(1)


def card_takes_it(_write: CardWrite) -> None:
    """The card on the reader took the write and read back what was written (the card station's success)."""


def card_pulled(_write: CardWrite) -> None:
    """The card left the reader before it took the write (the card station gives up; its next tap finishes)."""
    raise CardRemoved()


def top_up_left_for_its_card(factory: Any, till: Till, *, key: str, card_uid: str,
                             amount_fen: int) -> tuple[int, int]:
    """A top-up whose note is in and whose card write is recorded, but the card left before the top-up settled (the
    settlement then runs at its next tap, `card_value.complete_top_up`): (payment id, card write id)."""
    try:
        card_value.top_up(factory, till, key=key, card_uid=card_uid, amount_fen=amount_fen, method=PaymentMethod.CASH,
                          language="en", move_money=banknotes(factory, till), write_card=card_pulled)
    except CardWritePending:
        pass
    else:
        raise AssertionError("the top-up settled without its card")
    with unit_of_work(factory) as s:
        payment = payments.find_by_key(s, key)
        assert payment is not None
        write = card_value.open_top_up_write(s, payment)
        assert write is not None
        return payment.id, write.operation_id


def banknotes(factory: Any, till: Till, counter: Callable[[], int] | None = None) -> Callable[[Any], None]:
    """move_money: one note of exactly what the method must bring, stacked and credited in its own transaction."""
    next_counter = counter or (lambda: next(_notes))

    def move(payment: Any) -> None:
        with unit_of_work(factory) as s:
            p = payments.arriving_to(s, payment.id)  # as the cash and QR collectors read it
            payments.record_cash_in(s, till, p, counter=next_counter(), value_fen=payments.other_part(p))

    return move


def gateway_paid(factory: Any, till: Till) -> Callable[[Any], None]:
    """move_money: the gateway's notification that the QR order is paid, in its own transaction."""

    def move(payment: Any) -> None:
        with unit_of_work(factory) as s:
            txn = f"TXN-{payment.reference}"
            p = payments.arriving_to(s, payment.id, gateway_txn=txn)  # as the QR collector reads it
            payments.record_gateway_paid(s, till, p, payments.other_part(p), txn)

    return move


def card_spent(factory: Any, card_uid: str) -> Callable[[Any], Any]:
    """move_money of a card payment as the card station runs it (kiosk.cards.station.spend_mover): the spend write
    recorded with the tap's read, the card taking value - amount; the write is marked done by the settlement (what the
    mover returns). A card with something open (a failover's payment cut short) has its spend read again, as the
    station does after resolving it."""

    def move(payment: Any) -> Any:
        facts, spend = reconcile.spend_at_tap(factory, card_uid, payment.id)
        spend = spend or reconcile.record_spend(factory, payment.id, facts.card_id)
        if spend is None:
            return None
        card_takes_it(spend.write)
        return reconcile.done_with_settlement(spend, "kiosk:card")

    return move


def pay_bill(factory: Any, till: Till, *, key: str, household_id: int, bill_id: int, how: str,
             card_id: int | None = None, counter: Callable[[], int] | None = None,
             on_reader: str | None = None) -> payments.PaymentOutcome:
    """One bill paid by card balance ("card"), one banknote ("cash") or QR ("qr"). `on_reader`: the card's UID, the
    card on the reader written as the card station does (without it, the service alone: the card follows on its
    next tap)."""
    method = {"card": PaymentMethod.CARD, "cash": PaymentMethod.CASH, "qr": PaymentMethod.QR}[how]
    move = ((card_spent(factory, on_reader) if on_reader and card_id is not None else None) if how == "card"
            else banknotes(factory, till, counter) if how == "cash" else gateway_paid(factory, till))
    return payments.pay_bills(factory, till, key=key, household_id=household_id, bill_ids=[bill_id], method=method,
                              language="zh_Hans", card_id=card_id if how == "card" else None, move_money=move)


def top_up(factory: Any, till: Till, *, key: str, card_uid: str, amount_fen: int,
           counter: Callable[[], int] | None = None) -> card_value.TopUpResult:
    """A card topped up with one banknote, the card taking the new value."""
    return card_value.top_up(factory, till, key=key, card_uid=card_uid, amount_fen=amount_fen,
                             method=PaymentMethod.CASH, language="zh_Hans", move_money=banknotes(factory, till, counter),
                             write_card=card_takes_it)


def replace_card(factory: Any, till: Till, *, key: str, household_id: int, old_card_id: int, new_uid: str,
                 counter: Callable[[], int] | None = None) -> card_replacement.ReplacementResult:
    """补卡 with the 20-yuan fee paid by one banknote; the new card takes the old one's balance."""
    return card_replacement.replace_card(factory, till, key=key, household_id=household_id, old_card_id=old_card_id,
                                   new_uid=new_uid, method=PaymentMethod.CASH, fee_fen=2_000, language="zh_Hans",
                                   move_money=banknotes(factory, till, counter), write_card=card_takes_it)


def void(factory: Any, till: Till, *, receipt_number: str, reason: str = "fleet") -> voids.VoidResult:
    """Staff void a receipt's payment (one transaction, keyed by its receipt)."""
    with unit_of_work(factory) as s:
        return voids.void_receipt(s, till, number=receipt_number, reason=reason, actor="staff:fleet",
                                  language="zh_Hans")
