"""A top-up's settlement on PostgreSQL takes its locks by checks that ride with its writes, on what its preparation
read (kiosk.services.top_up_locks.as_prepared): two round trips, where reading under the locks first took three.
Whatever changed while the card took its write (another kiosk's spend of the household's credit, the card replaced,
the write resolved at a tap) fails a check on the server before any write of the settlement runs; the settlement
is then rolled back whole and done again the usual way, with the same outcome as before this path existed."""
from __future__ import annotations

from typing import Any

import pytest

from kiosk.domain.terms import AccountKind, EntryKind, PaymentMethod, PaymentStatus
from kiosk.errors import CardReplaced, CreditNotEnough
from kiosk.persistence import chain
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Card, CardOperation, JournalEntry, Payment, Receipt
from kiosk.persistence.round_trips import counting
from kiosk.services import card_replacement, card_value, cards, integrity, ledger
from tests.support import money_uses
from tests.support.chain_key import TEST_AUDIT_KEY, TEST_CHAIN, bound_factory

pytestmark = pytest.mark.parametrize("backend", ["postgres"])
AMOUNT_FEN = 5_000
AS_PREPARED = 8  # tests/persistence/test_round_trips.py's top_up_by_cash


def _uid(factory: Any, mini: Any) -> str:
    with unit_of_work(factory) as s:
        return s.get(Card, mini.card_ids[mini.household_ids[0]]).uid_hex


def _top_up(factory: Any, mini: Any, key: str, meanwhile: Any = None, uid: str = "") -> card_value.TopUpResult:
    """Kiosk A tops up household 0's card (`uid`, as the reader read it) by one banknote; `meanwhile()` runs while
    the card takes its write."""
    uid = uid or _uid(factory, mini)

    def card_takes_it(write: Any) -> None:
        if meanwhile is not None:
            meanwhile()
        money_uses.card_takes_it(write)

    return card_value.top_up(factory, mini.till, key=key, card_uid=uid, amount_fen=AMOUNT_FEN,
                             method=PaymentMethod.CASH, language="en",
                             move_money=money_uses.banknotes(factory, mini.till), write_card=card_takes_it)


def _credit_and_card(factory: Any, mini: Any) -> tuple[int, int]:
    hh = mini.household_ids[0]
    with unit_of_work(factory) as s:
        credit = ledger.liability_balance(s, ledger.account(s, AccountKind.CREDIT, household_id=hh))
        return credit, cards.card_balance(s, mini.card_ids[hh])


def _chain_verifies(factory: Any) -> None:
    with unit_of_work(factory) as s:
        report = integrity.verify(s, TEST_AUDIT_KEY)
    assert report.ok, report


def test_a_top_up_settled_as_prepared_writes_what_the_usual_way_writes(engine, factory, mini):
    chain.keep_head_in_memory(engine, TEST_CHAIN)  # as the kiosk's runtime does: no read of the chain's head
    _top_up(factory, mini, "warm")  # a warm kiosk: its pool's connections open, the accounts known
    credit, value = _credit_and_card(factory, mini)
    uid = _uid(factory, mini)
    with counting(engine) as trips:
        out = _top_up(factory, mini, "as-prepared", uid=uid)
    assert trips.round_trips == AS_PREPARED, trips.line()
    assert out.outcome.status is PaymentStatus.SUCCEEDED and out.card_written
    assert (out.balance_before_fen, out.balance_after_fen) == (value, value + AMOUNT_FEN)
    assert _credit_and_card(factory, mini) == (credit, value + AMOUNT_FEN)
    with unit_of_work(factory) as s:
        payment = s.get(Payment, out.outcome.payment_id)
        entries = s.query(JournalEntry).filter_by(payment_id=payment.id, kind=str(EntryKind.TOP_UP)).all()
        receipt = s.query(Receipt).filter_by(payment_id=payment.id).one()
        assert payment.status == "succeeded" and len(entries) == 1
        assert s.get(CardOperation, out.write.operation_id).status == "done"
        assert receipt.content and out.outcome.receipt_number
    _chain_verifies(factory)


def test_credit_spent_at_another_kiosk_while_the_card_took_its_write_settles_the_usual_way(engine, factory, mini):
    """The household's credit moved: the check of its locked balance fails, and the settlement reads it again."""
    kiosk_b = bound_factory(engine, chain="K02")
    hh = mini.household_ids[0]
    _top_up(factory, mini, "warm")
    credit, value = _credit_and_card(factory, mini)

    def another_kiosk_credits_the_household() -> None:
        with unit_of_work(kiosk_b) as s:
            box = ledger.account(s, AccountKind.CASH_BOX, kiosk_id=mini.till.kiosk_id)
            ledger.transfer(s, EntryKind.CASH_IN, box, ledger.account(s, AccountKind.CREDIT, household_id=hh), 700,
                            kiosk_id=mini.till.kiosk_id, memo="another kiosk")

    with counting(engine) as trips:
        out = _top_up(factory, mini, "credit-moved", another_kiosk_credits_the_household)
    assert trips.rollbacks == 1, trips.line()  # the settlement as prepared, failed on the server and rolled back
    assert out.outcome.status is PaymentStatus.SUCCEEDED and out.card_written
    assert _credit_and_card(factory, mini) == (credit + 700, value + AMOUNT_FEN)
    _chain_verifies(factory)


def test_credit_taken_at_another_kiosk_while_the_card_took_its_write_is_not_spent_twice(engine, factory, mini):
    """The credit the top-up spends was refunded meanwhile: the settlement, read again under the lock, finds too
    little (CreditNotEnough), and the household's credit never goes below zero (the conftest's check)."""
    kiosk_b = bound_factory(engine, chain="K02")
    hh = mini.household_ids[0]

    def another_kiosk_refunds_the_credit() -> None:
        with unit_of_work(kiosk_b) as s:
            credit = ledger.account(s, AccountKind.CREDIT, household_id=hh)
            box = ledger.account(s, AccountKind.CASH_BOX, kiosk_id=mini.till.kiosk_id)
            ledger.transfer(s, EntryKind.REFUND, credit, box, ledger.liability_balance(s, credit),
                            kiosk_id=mini.till.kiosk_id, memo="refunded at another kiosk")

    with pytest.raises(CreditNotEnough):
        _top_up(factory, mini, "credit-gone", another_kiosk_refunds_the_credit)
    with unit_of_work(factory) as s:
        payment = s.query(Payment).filter_by(idempotency_key="credit-gone").one()
        assert s.query(JournalEntry).filter_by(payment_id=payment.id, kind=str(EntryKind.TOP_UP)).count() == 0
    assert _credit_and_card(factory, mini)[0] == 0


def test_a_card_replaced_at_another_kiosk_while_it_took_its_write_keeps_the_money_as_credit(engine, factory, mini):
    """The card's row changed: the check fails, and the usual settlement finds the card replaced (CardReplaced),
    the top-up is cancelled and the money stays as the household's credit, never on the replaced card."""
    kiosk_b = bound_factory(engine, chain="K02")
    hh = mini.household_ids[0]
    card_id = mini.card_ids[hh]
    _top_up(factory, mini, "warm")
    credit, value = _credit_and_card(factory, mini)
    replaced: dict[str, Any] = {}

    def another_kiosk_replaces_the_card() -> None:
        replaced["out"] = card_replacement.replace_card(kiosk_b, mini.till, key="replaced-meanwhile", household_id=hh,
                                                  old_card_id=card_id, new_uid="0E0F0E01", method=PaymentMethod.CARD,
                                                  fee_fen=2_000, language="en")

    with pytest.raises(CardReplaced):
        _top_up(factory, mini, "card-replaced", another_kiosk_replaces_the_card)
    new_card = replaced["out"].new_card_id
    with unit_of_work(factory) as s:
        payment = s.query(Payment).filter_by(idempotency_key="card-replaced").one()
        assert payment.status == "cancelled"
        assert s.query(JournalEntry).filter_by(payment_id=payment.id, kind=str(EntryKind.TOP_UP)).count() == 0
        assert cards.card_balance(s, card_id) == 0 and cards.card_balance(s, new_card) == value - 2_000
    assert _credit_and_card(factory, mini)[0] == credit + AMOUNT_FEN
    _chain_verifies(factory)
