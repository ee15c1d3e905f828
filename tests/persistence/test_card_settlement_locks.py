"""A settlement on a card locks its payment, then the card, then the household's credit it spends, in one statement
(PostgreSQL): a top-up's (kiosk.services.top_up_locks) and a card replacement's (payments.lock_payment's card_id).
One order for both, so that a top-up and a replacement of the same card cannot deadlock. Proved with transactions
of their own: while a top-up waits for the payment it holds neither the card nor the credit; while it waits for the
card (a replacement holding it) it holds the payment but not the credit, and the credit it spends is what is there
once it has the card; a payment settled meanwhile locks no credit; a replacement waiting for its old card (a top-up
settling on it) holds its payment but not the credit it pays the fee from; a replacement waiting for its old card's
stored value (a spend from it at another kiosk) holds the payment, the card and the credit, and moves what is left
once it has it."""
from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import select

from kiosk.domain.terms import AccountKind, EntryKind, PaymentMethod, PaymentStatus
from kiosk.errors import CreditNotEnough, DatabaseBusy
from kiosk.persistence.db import make_engine, unit_of_work
from kiosk.persistence.models import Card, Payment
from kiosk.services import card_replacement, card_value, cards, ledger, payments, split_tender, top_up_locks
from tests.support import estate, money_uses
from tests.support.chain_key import bound_factory
from tests.support.lock_waits import until_a_backend_waits_on_a_lock

pytestmark = pytest.mark.parametrize("backend", ["postgres"])
CARD_FEN, TOP_UP_FEN = 50_000, 5_000


@pytest.fixture
def engines(db_url):
    engine, fast = make_engine(db_url, lock_timeout_s=20.0), make_engine(db_url, lock_timeout_s=1.0)
    yield engine, fast
    engine.dispose()
    fast.dispose()


class TopUpLeft:
    """A top-up whose card took its write but left before it settled (its next tap settles it)."""

    def __init__(self, factory) -> None:
        with unit_of_work(factory) as s:
            self.mini = estate.build(s, households=1, bills_each=0, card_value_fen=CARD_FEN)
        self.hh = self.mini.household_ids[0]
        self.card_id = self.mini.card_ids[self.hh]
        with unit_of_work(factory) as s:
            uid = s.get(Card, self.card_id).uid_hex
        self.payment_id, self.operation_id = money_uses.top_up_left_for_its_card(
            factory, self.mini.till, key="locks", card_uid=uid, amount_fen=TOP_UP_FEN)
        with unit_of_work(factory) as s:
            self.intent = s.get(Payment, self.payment_id)  # as its intent recorded it

    def settle(self, factory) -> card_value.TopUpResult:
        with unit_of_work(factory) as s:
            return card_value.settle_top_up(s, self.mini.till, self.payment_id, self.operation_id, "en",
                                            card_verified=True, intent=self.intent)

    def values(self, factory) -> tuple[int, int]:
        """(the household's credit, the card's stored value)."""
        with unit_of_work(factory) as s:
            credit = ledger.liability_balance(s, ledger.account(s, AccountKind.CREDIT, household_id=self.hh))
            return credit, cards.card_balance(s, self.card_id)


def _free(factory, take: Callable) -> bool:
    """Can another transaction take this lock now (within the engine's 1 s lock timeout)?"""
    try:
        with unit_of_work(factory) as s:
            take(s)
        return True
    except DatabaseBusy:
        return False


def _lock_card(card_id: int) -> Callable:
    return lambda s: s.execute(select(Card.id).where(Card.id == card_id).with_for_update(key_share=True)).all()


def _lock_credit(hh: int) -> Callable:
    return lambda s: ledger.lock(s, ledger.account(s, AccountKind.CREDIT, household_id=hh))


def _lock_payment(payment_id: int) -> Callable:
    return lambda s: payments.lock_payment(s, payment_id)


def _while_held(engine, factory, hold: Callable, settle: Callable, check: Callable) -> list[object]:
    """`hold(session)` runs in a transaction of `factory` kept open until `check` has run against the settlement
    (`settle`, another thread) once it waits on a lock; then both finish. What the settlement returned or raised."""
    holding, release, outcome = threading.Event(), threading.Event(), []

    def holder() -> None:
        with unit_of_work(factory) as s:
            hold(s)
            holding.set()
            release.wait(20)

    def settlement() -> None:
        try:
            outcome.append(settle())
        except Exception as exc:  # noqa: BLE001 - asserted by the caller
            outcome.append(exc)

    first = threading.Thread(target=holder)
    first.start()
    assert holding.wait(10)
    waiter = threading.Thread(target=settlement)
    waiter.start()
    try:
        until_a_backend_waits_on_a_lock(engine)
        assert waiter.is_alive() and not outcome, outcome  # the settlement waits on what the holder has
        check()
    finally:
        release.set()
        first.join(20)
        waiter.join(20)
    return outcome


def test_the_settlement_waiting_for_its_payment_holds_neither_the_card_nor_the_credit(engines):
    engine, fast = engines
    factory, kiosk, third = bound_factory(engine), bound_factory(engine, chain="K02"), bound_factory(fast, chain="K03")
    left = TopUpLeft(factory)

    def check() -> None:
        assert _free(third, _lock_card(left.card_id))
        assert _free(third, _lock_credit(left.hh))

    outcome = _while_held(engine, factory, _lock_payment(left.payment_id), lambda: left.settle(kiosk), check)
    assert [o.outcome.status for o in outcome] == [PaymentStatus.SUCCEEDED], outcome
    assert left.values(factory) == (0, CARD_FEN + TOP_UP_FEN)


def test_the_settlement_waiting_for_its_card_spends_only_the_credit_left_once_it_has_it(engines):
    engine, fast = engines
    factory, kiosk, third = bound_factory(engine), bound_factory(engine, chain="K02"), bound_factory(fast, chain="K03")
    left = TopUpLeft(factory)

    def hold(s) -> None:  # a replacement holds the card and, meanwhile, 3,000 of the credit is refunded
        card_replacement.card_and_household(s, left.card_id, left.hh)
        credit = ledger.account(s, AccountKind.CREDIT, household_id=left.hh)
        box = ledger.account(s, AccountKind.CASH_BOX, kiosk_id=left.mini.till.kiosk_id)
        ledger.post(s, EntryKind.REFUND, [ledger.Posting(credit, 3_000), ledger.Posting(box, -3_000)])

    def check() -> None:
        assert not _free(third, _lock_payment(left.payment_id))  # it has its payment...
        assert _free(third, _lock_credit(left.hh))  # ...and not yet the credit

    outcome = _while_held(engine, factory, hold, lambda: left.settle(kiosk), check)
    # summed after the card's lock: the 2,000 left, not the 5,000 there when the settlement started
    assert len(outcome) == 1 and isinstance(outcome[0], CreditNotEnough), outcome
    assert left.values(factory) == (TOP_UP_FEN - 3_000, CARD_FEN)


class Replacing:
    """A household with a card worth CARD_FEN, whose replacement (fee paid by a banknote, at kiosk K02) a test runs
    while another transaction holds something; `third` (K03, 1 s lock timeout) tries the locks meanwhile."""

    def __init__(self, engines, key: str, new_uid: str) -> None:  # type: ignore[no-untyped-def]
        self.engine, fast = engines
        self.factory, self.kiosk = bound_factory(self.engine), bound_factory(self.engine, chain="K02")
        self.third = bound_factory(fast, chain="K03")
        self.key, self.new_uid = key, new_uid
        with unit_of_work(self.factory) as s:
            self.mini = estate.build(s, households=1, bills_each=0, card_value_fen=CARD_FEN)
        self.hh = self.mini.household_ids[0]
        self.card_id = self.mini.card_ids[self.hh]

    def replace(self) -> card_replacement.ReplacementResult:
        return card_replacement.replace_card(self.kiosk, self.mini.till, key=self.key, household_id=self.hh,
                                       old_card_id=self.card_id, new_uid=self.new_uid, method=PaymentMethod.CASH,
                                       fee_fen=2_000, language="en",
                                       move_money=money_uses.banknotes(self.kiosk, self.mini.till))

    def payment_id(self) -> int:
        with unit_of_work(self.factory) as s:
            return payments.find_by_key(s, self.key).id

    def while_held(self, hold: Callable, check: Callable) -> list[object]:
        return _while_held(self.engine, self.factory, hold, self.replace, check)


def test_a_replacement_waiting_for_its_old_card_holds_its_payment_but_not_the_credit_it_pays_the_fee_from(engines):
    r = Replacing(engines, "replace-waits", "A1B2C3E0")
    third, hh, card_id = r.third, r.hh, r.card_id

    def check() -> None:
        assert not _free(third, _lock_payment(r.payment_id()))  # it has its payment...
        assert _free(third, _lock_credit(hh))  # ...and not yet the credit the note landed on

    # a top-up settling on the card holds it (card_and_household locks it the same way)
    outcome = r.while_held(lambda s: card_replacement.card_and_household(s, card_id, hh), check)
    assert len(outcome) == 1 and outcome[0].outcome.status is PaymentStatus.SUCCEEDED, outcome
    assert outcome[0].transferred_fen == CARD_FEN


def test_a_replacement_waiting_for_its_old_cards_value_holds_the_credit_and_moves_the_value_left_once_it_has_it(
        engines):
    """The old card's stored value is locked and summed in the replacement's first statement, after the credit
    (payment_locks._locked_with_account): while another kiosk spends from the card, the replacement waits there with its
    payment, the card and the credit, and moves what is left once that spend has committed, not what it saw before."""
    r = Replacing(engines, "replace-value", "A1B2C3E1")
    factory, third, hh, card_id = r.factory, r.third, r.hh, r.card_id
    spent_meanwhile = 1_000
    with unit_of_work(factory) as s:  # there before: the note's arrival must not wait on the spend's creating it
        ledger.account(s, AccountKind.CREDIT, household_id=hh)

    def spend_from_the_card(s) -> None:  # a card payment settling at another kiosk: the value's lock, then its spend
        value = ledger.account(s, AccountKind.STORED_VALUE, card_id=card_id)
        ledger.spend_liability(s, EntryKind.BALANCE_TRANSFER, value,
                               ledger.account(s, AccountKind.CREDIT, household_id=hh), spent_meanwhile)

    def check() -> None:
        assert not _free(third, _lock_payment(r.payment_id()))
        assert not _free(third, _lock_card(card_id))
        assert not _free(third, _lock_credit(hh))  # the credit before the card's value, as post_parts spends

    outcome = r.while_held(spend_from_the_card, check)
    assert len(outcome) == 1 and outcome[0].outcome.status is PaymentStatus.SUCCEEDED, outcome
    assert outcome[0].transferred_fen == CARD_FEN - spent_meanwhile
    with unit_of_work(factory) as s:
        assert cards.card_balance(s, card_id) == 0 and cards.card_balance(s, outcome[0].new_card_id) == \
            CARD_FEN - spent_meanwhile


def test_a_top_up_settled_meanwhile_locks_no_credit(engines):
    engine, fast = engines
    factory, third = bound_factory(engine), bound_factory(fast, chain="K03")
    left = TopUpLeft(factory)
    left.settle(factory)  # settled at the card's next tap
    with unit_of_work(factory) as s:
        spends = split_tender.first_spend(s, left.intent)
        found = top_up_locks.for_settling(s, left.payment_id, left.operation_id, spends)
        assert found.payment.status == PaymentStatus.SUCCEEDED
        assert _free(third, _lock_credit(left.hh))  # while this transaction is still open

