"""What a resident's card costs the database through the card station itself (the real PN532 driver and the
simulated reader), not only through the services' pinned use cases (tests/persistence/test_round_trips.py): the tap
that signs in, a card payment at the reader and a top-up by a banknote, on a warm kiosk. PostgreSQL only: round
trips are a network's cost, and a SQLite file has none."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from kiosk.domain.terms import PaymentMethod, PaymentStatus
from kiosk.persistence import chain
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import CardOperation
from kiosk.persistence.round_trips import Counter
from kiosk.services import card_value, payments
from tests.support import money_uses
from tests.support.chain_key import TEST_CHAIN

TAP = 1  # the card, its household, anything open and the ledger's value and counter: one query, no BEGIN or COMMIT
PAY = 7  # intent 2, the spend write recorded with the tap's read 2, the settlement 3 (the write marked done in it)
TOP_UP = 8  # the services' 8 (pinned as top_up_by_cash): the write's tap reads nothing, prepare_top_up read it


def _pay(desk, screen, uid: str, key: str, n: int) -> payments.PaymentOutcome:  # type: ignore[no-untyped-def]
    hh = desk.mini.household_ids[0]
    return payments.pay_bills(desk.factory, desk.mini.till, key=key, household_id=hh,
                              bill_ids=[desk.mini.bill_ids[hh][n]], method=PaymentMethod.CARD, language="en",
                              card_id=desk.card_id(), move_money=desk.station.spend_mover(uid, screen.control))


def test_a_tap_and_a_card_payment_at_the_reader_take_their_pinned_round_trips(desk, screen, engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("round trips are a network's cost: a SQLite file has none")
    chain.keep_head_in_memory(engine, TEST_CHAIN)  # as the app does once it holds its kiosk code's lease
    uid = desk.uid()
    desk.present(uid)
    desk.station.check_tap(uid)
    assert _pay(desk, screen, uid, "warm", 0).status is PaymentStatus.SUCCEEDED  # the kiosk's accounts read once
    counter = Counter(engine).attach()
    try:
        desk.station.check_tap(uid)
        tap = counter.total.copy()
        out = _pay(desk, screen, uid, "counted", 1)
        paid = counter.total - tap
    finally:
        counter.detach()
    assert out.status is PaymentStatus.SUCCEEDED
    assert (tap.round_trips, paid.round_trips) == (TAP, PAY), f"tap: {tap.line()}\npay: {paid.line()}"
    value, counter, open_writes = desk.ledger()
    assert desk.read(uid).state == (value, counter) and counter == 2 and open_writes == 0  # card and ledger agree
    with unit_of_work(desk.factory) as s:  # each spend write marked done, by its payment's settlement
        assert list(s.scalars(select(CardOperation.status).where(CardOperation.kind == "spend"))) == ["done"] * 2


def test_a_top_up_at_the_reader_takes_its_pinned_round_trips(desk, screen, engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("round trips are a network's cost: a SQLite file has none")
    chain.keep_head_in_memory(engine, TEST_CHAIN)
    uid = desk.uid()
    desk.present(uid)
    notes = iter(range(1_000, 2_000))  # the validator's event counter

    def top_up(key: str) -> card_value.TopUpResult:
        return card_value.top_up(desk.factory, desk.mini.till, key=key, card_uid=uid, amount_fen=5_000,
                                 method=PaymentMethod.CASH, language="en",
                                 move_money=money_uses.banknotes(desk.factory, desk.mini.till, lambda: next(notes)),
                                 write_card=desk.station.write_card(screen.control))

    top_up("warm")
    counter = Counter(engine).attach()
    try:
        out = top_up("counted")
    finally:
        counter.detach()
    assert out.card_written and counter.total.round_trips == TOP_UP, counter.total.line()
    value, counter_now, open_writes = desk.ledger()
    assert desk.read(uid).state == (value, counter_now) and value == 60_000 and open_writes == 0
