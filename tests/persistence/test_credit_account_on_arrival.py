"""Money arriving for a household that never had any: its credit account is created in the same statement that reads
the payment (arrivals.arriving_to, PostgreSQL), and a second kiosk creating it at the same moment still leaves one
account with every fen on it."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text

from kiosk.domain.terms import AccountKind, PaymentMethod
from kiosk.persistence import chain
from kiosk.persistence.db import make_engine, unit_of_work
from kiosk.persistence.models import Account
from kiosk.persistence.round_trips import counting
from kiosk.services import ledger, payments
from tests.support import estate
from tests.support.chain_key import TEST_CHAIN, bound_factory
from tests.support.lock_waits import until_a_backend_waits_on_a_lock

pytestmark = pytest.mark.parametrize("backend", ["postgres"])


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def _cash_intent(factory) -> tuple[estate.MiniEstate, int, int]:
    """A cash payment's intent for a household with no credit account yet; the kiosk knows its cash box."""
    with unit_of_work(factory) as s:
        mini = estate.build(s, households=1, bills_each=1, card_value_fen=0)
    hh = mini.household_ids[0]
    with unit_of_work(factory) as s:
        payment, _ = payments.start_bill_payment(s, mini.till, key="first-money", household_id=hh,
                                                 bill_ids=mini.bill_ids[hh], method=PaymentMethod.CASH)
        ledger.account(s, AccountKind.CASH_BOX, kiosk_id=mini.till.kiosk_id)
    return mini, hh, payment.id


def _credit_accounts(factory, hh: int) -> list[tuple[int, int]]:
    """(account id, balance) of every credit account the household has."""
    with unit_of_work(factory) as s:
        found = s.scalars(select(Account).where(Account.household_id == hh,
                                                Account.kind == str(AccountKind.CREDIT))).all()
        return [(a.id, ledger.liability_balance(s, a)) for a in found]


def _stack_note(factory, till, payment_id: int, fen: int) -> None:
    with unit_of_work(factory) as s:
        payments.record_cash_in(s, till, payments.arriving_to(s, payment_id), counter=1, value_fen=fen)


def test_the_first_note_a_household_ever_pays_creates_its_credit_account_with_the_payments_read(engine):
    factory = bound_factory(engine)
    chain.keep_head_in_memory(engine, TEST_CHAIN)  # as a kiosk does: its chain's head rides with the COMMIT
    mini, hh, payment_id = _cash_intent(factory)
    assert _credit_accounts(factory, hh) == []
    with counting(engine) as count:
        _stack_note(factory, mini.till, payment_id, 5_000)
    # the first message (the payment, the account made) and the COMMIT with the note's rows: no statement for the
    # account of its own
    assert count.round_trips == 2, count.line()
    [(_, held)] = _credit_accounts(factory, hh)
    assert held == 5_000


def test_a_credit_account_another_kiosk_creates_at_the_same_moment_is_used_not_made_twice(engine):
    factory = bound_factory(engine)
    mini, hh, payment_id = _cash_intent(factory)
    code = ledger.account_code(AccountKind.CREDIT, household_id=hh)
    errors: list[BaseException] = []
    with engine.connect() as other:  # the other kiosk's transaction: it creates the account, commits when told
        other.execute(text("INSERT INTO accounts (code, kind, household_id) VALUES (:code, 'credit', :hh)"),
                      {"code": code, "hh": hh})

        def stack() -> None:
            try:
                _stack_note(factory, mini.till, payment_id, 5_000)
            except BaseException as exc:  # noqa: BLE001 - reported by the test below
                errors.append(exc)

        note = threading.Thread(target=stack)
        note.start()
        until_a_backend_waits_on_a_lock(engine)  # the insert of the same code waits for the other transaction
        other.commit()
        note.join(20)
    assert not note.is_alive() and not errors, errors
    [(_, held)] = _credit_accounts(factory, hh)
    assert held == 5_000
    with unit_of_work(factory) as s:
        assert s.scalar(select(func.count()).select_from(Account).where(Account.code == code)) == 1

