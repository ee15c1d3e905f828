"""A top-up and a replacement of the same card at two kiosks at once (PostgreSQL, two transactions): the value the
top-up added ends on the new card, or stays as the household's credit; never on the replaced card, where nobody
could spend it. Both settlements lock the card's row (card_value.settle_top_up, card_replacement.card_and_household)."""
from __future__ import annotations

import threading

import pytest

from kiosk.domain.terms import AccountKind, CardStatus, PaymentMethod, PaymentStatus
from kiosk.errors import CardReplaced
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Card, CardOperation, Payment
from kiosk.services import card_replacement, card_value, cards, ledger
from tests.support import money_uses
from tests.support.chain_key import bound_factory

pytestmark = pytest.mark.parametrize("backend", ["postgres"])
TOP_UP_FEN = 1_000
FEE_FEN = 2_000


def _top_up_written_not_settled(factory, till, card_id):
    """Kiosk A: the note is in and the card took its new value, but the card left before the top-up settled
    (the settlement then runs at its next tap): (payment id, card write id)."""
    with unit_of_work(factory) as s:
        uid = s.get(Card, card_id).uid_hex
    return money_uses.top_up_left_for_its_card(factory, till, key="race-top-up", card_uid=uid, amount_fen=TOP_UP_FEN)


def _replace(factory, till, hh, card_id):
    return card_replacement.replace_card(factory, till, key="race-replace", household_id=hh, old_card_id=card_id,
                                   new_uid="A1B2C3D9", method=PaymentMethod.CARD, fee_fen=FEE_FEN, language="en")


def _values(factory, hh, *card_ids):
    with unit_of_work(factory) as s:
        credit = ledger.liability_balance(s, ledger.account(s, AccountKind.CREDIT, household_id=hh))
        return credit, *(cards.card_balance(s, card_id) for card_id in card_ids)


def test_a_replacement_waits_for_a_top_up_settling_on_the_card_and_moves_its_value(engine, mini):
    kiosk_a, kiosk_b = bound_factory(engine), bound_factory(engine, chain="K02")
    hh = mini.household_ids[0]
    card_id = mini.card_ids[hh]
    payment_id, operation_id = _top_up_written_not_settled(kiosk_a, mini.till, card_id)
    replaced: dict[str, object] = {}

    def kiosk_b_replaces() -> None:
        try:
            replaced["out"] = _replace(kiosk_b, mini.till, hh, card_id)
        except Exception as exc:  # noqa: BLE001 - asserted below
            replaced["error"] = exc

    with unit_of_work(kiosk_a) as s:  # kiosk A settles: the card's value goes up, not committed yet
        card_value.settle_top_up(s, mini.till, payment_id, operation_id, "en", card_verified=True)
        other = threading.Thread(target=kiosk_b_replaces)
        other.start()
        other.join(1.5)
        assert other.is_alive(), replaced  # kiosk B waits for the card kiosk A holds
    other.join(60)
    out = replaced.get("out")
    assert out is not None, replaced
    assert out.outcome.status is PaymentStatus.SUCCEEDED
    assert out.transferred_fen == 50_000 + TOP_UP_FEN - FEE_FEN  # the top-up's value went with the card
    assert _values(kiosk_a, hh, card_id, out.new_card_id) == (0, 0, 50_000 + TOP_UP_FEN - FEE_FEN)


def test_a_top_up_settling_after_the_card_was_replaced_leaves_its_money_as_credit(engine, mini):
    kiosk_a, kiosk_b = bound_factory(engine), bound_factory(engine, chain="K02")
    hh = mini.household_ids[0]
    card_id = mini.card_ids[hh]
    payment_id, operation_id = _top_up_written_not_settled(kiosk_a, mini.till, card_id)
    out = _replace(kiosk_b, mini.till, hh, card_id)  # kiosk B replaced the card meanwhile
    assert out.transferred_fen == 50_000 - FEE_FEN
    with pytest.raises(CardReplaced):  # the old card comes back to kiosk A's reader
        card_value.complete_top_up(kiosk_a, mini.till, payment_id, operation_id)
    assert _values(kiosk_a, hh, card_id, out.new_card_id) == (TOP_UP_FEN, 0, 50_000 - FEE_FEN)
    with unit_of_work(kiosk_a) as s:
        assert s.get(Payment, payment_id).status == "cancelled"
        assert s.get(CardOperation, operation_id).status != "pending"
        assert s.get(Card, card_id).status == CardStatus.REPLACED
