"""The idempotency key's claim riding with the attempt's own statements (kiosk.persistence.key_claims.RidingClaim,
PostgreSQL reached directly): taken with the first statement, let go with the settlement's COMMIT; a key another
process holds makes the attempt wait as before and then run once; a failed attempt lets the key go too."""
from __future__ import annotations

import threading
import time

import psycopg
import pytest

from kiosk.errors import BillAlreadyPaid, PaymentInProgress
from kiosk.persistence import key_claims
from kiosk.persistence.db import make_engine, unit_of_work
from kiosk.services import payments
from tests.support import estate, money_uses
from tests.support.chain_key import bound_factory

pytestmark = pytest.mark.parametrize("backend", ["postgres"])


def _raw(db_url: str) -> psycopg.Connection:
    return psycopg.connect(db_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def _free(db_url: str, key: str) -> bool:
    """Another session can take the key's lock now (and lets it go at once)."""
    with _raw(db_url) as conn:
        got = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (key_claims.LOCK_CLASS, key_claims.advisory_lock_key(key))).fetchone()
        return bool(got and got[0])


@pytest.fixture()
def kiosk(db_url):
    engine = make_engine(db_url)
    factory = bound_factory(engine)
    with unit_of_work(factory) as s:
        mini = estate.build(s, households=1, bills_each=3, card_value_fen=500_000)
    yield factory, mini
    engine.dispose()


def test_a_payment_lets_its_key_go_with_its_settlement_and_holds_it_while_it_runs(kiosk, db_url):
    factory, mini = kiosk
    hh = mini.household_ids[0]
    seen: list[bool] = []

    def while_money_moves(_payment):
        seen.append(_free(db_url, "k-1"))

    payments.pay_bills(factory, mini.till, key="k-1", household_id=hh, bill_ids=[mini.bill_ids[hh][0]],
                       method=payments.PaymentMethod.CARD, language="zh_Hans", card_id=mini.card_ids[hh],
                       move_money=while_money_moves)
    assert seen == [False]  # held by the attempt while its money moved
    assert _free(db_url, "k-1")  # let go with the COMMIT


def test_a_key_another_process_holds_is_waited_for_and_the_payment_then_runs_once(kiosk, db_url):
    factory, mini = kiosk
    hh = mini.household_ids[0]
    holder = _raw(db_url)
    holder.execute("SELECT pg_advisory_lock(%s, %s)", (key_claims.LOCK_CLASS, key_claims.advisory_lock_key("k-2")))
    threading.Timer(0.5, holder.close).start()  # the other process ends: the server drops its lock
    t0 = time.monotonic()
    out = money_uses.pay_bill(factory, mini.till, key="k-2", household_id=hh, bill_id=mini.bill_ids[hh][1], how="qr")
    assert time.monotonic() - t0 >= 0.4 and out.receipt_number
    again = money_uses.pay_bill(factory, mini.till, key="k-2", household_id=hh, bill_id=mini.bill_ids[hh][1], how="qr")
    assert again.replayed and again.receipt_number == out.receipt_number
    assert _free(db_url, "k-2")


def test_a_key_held_too_long_is_payment_in_progress_and_nothing_is_recorded(kiosk, db_url, monkeypatch):
    factory, mini = kiosk
    hh = mini.household_ids[0]
    monkeypatch.setattr(payments, "IN_PROGRESS_WAIT_S", 0.3)
    with _raw(db_url) as holder:
        holder.execute("SELECT pg_advisory_lock(%s, %s)", (key_claims.LOCK_CLASS, key_claims.advisory_lock_key("k-3")))
        with pytest.raises(PaymentInProgress):
            money_uses.pay_bill(factory, mini.till, key="k-3", household_id=hh, bill_id=mini.bill_ids[hh][2],
                                how="card", card_id=mini.card_ids[hh])
    with unit_of_work(factory) as s:
        assert payments.find_by_key(s, "k-3") is None


def test_an_attempt_that_fails_lets_its_key_go(kiosk, db_url):
    factory, mini = kiosk
    hh = mini.household_ids[0]
    bill = mini.bill_ids[hh][0]
    money_uses.pay_bill(factory, mini.till, key="k-4a", household_id=hh, bill_id=bill, how="qr")
    with pytest.raises(BillAlreadyPaid):
        money_uses.pay_bill(factory, mini.till, key="k-4b", household_id=hh, bill_id=bill, how="qr")
    assert _free(db_url, "k-4b")
