"""Round trips per money use case on PostgreSQL, pinned: a cut shows here as a changed number, a regression fails.

Counted by kiosk.persistence.round_trips (engine events) on a warm kiosk (its pool's connections open, its
accounts created), the second of two identical payments; and checked against the wire: the same payment through
the network proxy (tests/support/netproxy.py) crosses it in as many round trips as counted, give or take psycopg
preparing a statement it has run five times on one connection (one round trip more, once per connection; off for
this comparison)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sqlalchemy import event

from kiosk.persistence import chain
from kiosk.persistence.db import make_engine, unit_of_work
from kiosk.persistence.round_trips import RoundTrips, counting
from kiosk.domain.terms import AccountKind, PaymentMethod
from kiosk.services import cards, ledger, payments
from tests.support import estate, money_uses
from tests.support.chain_key import TEST_CHAIN, bound_factory
from tests.support.databases import pg_admin_url, postgres_database
from tests.support.netproxy import proxied

pytestmark = pytest.mark.skipif(not pg_admin_url(), reason="KIOSK_TEST_PG_URL not set")

# round trips of one warm use case (begin + statements + commit + rollback + ping), as of the commit that sets them;
# before the fleet work: card 54, cash 62, QR 60, top-up 83, replacement 85, void 33 (docs/fleet.md)
PINNED = {
    "pay_by_card": 5,
    # the card station's way: the tap read with the spend write recorded, the card written, the write marked done by
    # the settlement
    "pay_by_card_at_the_reader": 7,
    "pay_by_cash": 7,
    "pay_by_qr": 7,
    # the settlement as its preparation read it: its locks are checks riding with its writes, its journal entry's id
    # taken with the preparation's first message (top_up_locks.as_prepared)
    "top_up_by_cash": 8,
    # the new card and its account with ids taken by the intent's first message: their INSERTs ride
    "replace_card_by_cash": 8,
    "void": 8,
}


def _uses(factory: Any, mini: estate.MiniEstate) -> dict[str, Callable[[int], Any]]:
    """Each use case as a call on the n-th household (0: the warm-up, 1: the counted one), a fresh key each."""
    till, hh = mini.till, mini.household_ids

    def uid(n: int) -> str:
        with unit_of_work(factory) as s:
            return cards.get_card(s, mini.card_ids[hh[n]]).uid_hex

    # a kiosk knows the card's uid from the tap: looked up here, before counting, not inside the counted call
    uids = {n: uid(n) for n in (0, 1)}

    def receipt_of(n: int) -> str:
        return money_uses.pay_bill(factory, till, key=f"v-{n}", household_id=hh[n], bill_id=mini.bill_ids[hh[n]][4],
                                   how="card", card_id=mini.card_ids[hh[n]]).receipt_number

    receipts = {n: receipt_of(n) for n in (0, 1)}
    return {
        "pay_by_card": lambda n: money_uses.pay_bill(factory, till, key=f"card-{n}", household_id=hh[n],
                                                     bill_id=mini.bill_ids[hh[n]][0], how="card",
                                                     card_id=mini.card_ids[hh[n]]),
        "pay_by_card_at_the_reader": lambda n: money_uses.pay_bill(
            factory, till, key=f"reader-{n}", household_id=hh[n], bill_id=mini.bill_ids[hh[n]][3], how="card",
            card_id=mini.card_ids[hh[n]], on_reader=uids[n]),
        "pay_by_cash": lambda n: money_uses.pay_bill(factory, till, key=f"cash-{n}", household_id=hh[n],
                                                     bill_id=mini.bill_ids[hh[n]][1], how="cash"),
        "pay_by_qr": lambda n: money_uses.pay_bill(factory, till, key=f"qr-{n}", household_id=hh[n],
                                                   bill_id=mini.bill_ids[hh[n]][2], how="qr"),
        "top_up_by_cash": lambda n: money_uses.top_up(factory, till, key=f"top-{n}", card_uid=uids[n],
                                                      amount_fen=5_000),
        "replace_card_by_cash": lambda n: money_uses.replace_card(factory, till, key=f"new-{n}", household_id=hh[n],
                                                                  old_card_id=mini.card_ids[hh[n]],
                                                                  new_uid=f"0E0F{n:02X}01"),
        "void": lambda n: money_uses.void(factory, till, receipt_number=receipts[n]),
    }


def _measure(url: str) -> tuple[dict[str, RoundTrips], dict[str, int]]:
    with proxied(url) as (proxy, through):
        engine = make_engine(through)
        event.listen(engine.pool, "connect", lambda dbapi, _record: setattr(dbapi, "prepare_threshold", None))
        try:
            factory = bound_factory(engine)
            chain.keep_head_in_memory(engine, TEST_CHAIN)  # as the app does once it holds its kiosk code's lease
            with unit_of_work(factory) as s:
                mini = estate.build(s, households=2, bills_each=5, card_value_fen=500_000)
            uses = _uses(factory, mini)
            counted: dict[str, RoundTrips] = {}
            wire: dict[str, int] = {}
            for name, use in uses.items():
                use(0)  # warm: accounts exist, connections are pooled
                before = proxy.round_trips
                with counting(engine) as count:
                    use(1)
                counted[name], wire[name] = count, proxy.round_trips - before
            return counted, wire
        finally:
            engine.dispose()


def test_round_trips_per_money_use_case_are_pinned_and_match_the_wire():
    with postgres_database() as url:
        counted, wire = _measure(url)
    lines = [f"{name}: {c.line()}; wire {wire[name]}" for name, c in counted.items()]
    print("\n".join(lines))
    for name, count in counted.items():
        assert count.connects == 0, f"{name} opened a connection on a warm kiosk"
        assert count.round_trips == wire[name], lines
    assert {name: c.round_trips for name, c in counted.items()} == PINNED, "\n".join(lines)


def test_a_banknote_for_a_household_another_kiosk_paid_for_before_reads_its_credit_account_with_the_payment():
    """The household's credit account exists (created by another kiosk's payment), but this kiosk has not seen the
    household since it started: the note's transaction reads the account with the payment (arrivals.arriving_to)
    and takes two round trips, its first message and its COMMIT; it took three, a statement for the account."""
    with postgres_database() as url:
        first, second = make_engine(url), make_engine(url)
        try:
            factory, other = bound_factory(first), bound_factory(second, chain="K02")
            chain.keep_head_in_memory(second, "K02")
            with unit_of_work(factory) as s:
                mini = estate.build(s, households=1, bills_each=2, card_value_fen=0)
            hh = mini.household_ids[0]
            money_uses.pay_bill(factory, mini.till, key="there-before", household_id=hh,
                                bill_id=mini.bill_ids[hh][0], how="cash")  # the account is created here
            note = money_uses.banknotes(other, mini.till)
            with unit_of_work(other) as s:  # this kiosk knows its own cash box (any note since it started)
                ledger.account(s, AccountKind.CASH_BOX, kiosk_id=mini.till.kiosk_id)
            with unit_of_work(other) as s:
                payment, _ = payments.start_bill_payment(s, mini.till, key="seen-elsewhere", household_id=hh,
                                                         bill_ids=mini.bill_ids[hh][1:], method=PaymentMethod.CASH)
            with counting(second) as count:
                note(payment)
            assert count.round_trips == 2, count.line()
        finally:
            first.dispose()
            second.dispose()
