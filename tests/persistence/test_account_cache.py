"""On PostgreSQL a kiosk reads each ledger account from the database once (kiosk.services.ledger.account): an
account row never changes, so later transactions find it in the engine's cache with no round trip. Only accounts of
committed transactions are kept: one created by a transaction that rolled back is read (and created) afresh."""
from __future__ import annotations

import pytest

from sqlalchemy import select

from kiosk.domain.terms import AccountKind, EntryKind
from kiosk.errors import PaymentError
from kiosk.persistence.db import make_engine, unit_of_work
from kiosk.persistence.models import Account
from kiosk.persistence.round_trips import counting
from kiosk.services import ledger
from tests.support import estate
from tests.support.chain_key import bound_factory


@pytest.mark.parametrize("backend", ["postgres"])
def test_an_account_is_read_once_per_kiosk_and_a_rolled_back_one_is_created_afresh(db_url):
    engine = make_engine(db_url)
    try:
        factory = bound_factory(engine)
        with unit_of_work(factory) as s:
            mini = estate.build(s, households=2, bills_each=1)
        first, second = mini.household_ids
        with unit_of_work(factory) as s:
            credit_id = ledger.account(s, AccountKind.CREDIT, household_id=first).id
        with counting(engine) as count:
            with unit_of_work(factory) as s:
                again = ledger.account(s, AccountKind.CREDIT, household_id=first)
                assert (again.id, again.household_id, again.kind) == (credit_id, first, str(AccountKind.CREDIT))
        assert count.statements == 0, count.line()

        with pytest.raises(PaymentError):
            with unit_of_work(factory) as s:
                ledger.account(s, AccountKind.CREDIT, household_id=second)
                raise PaymentError("gave up")
        with unit_of_work(factory) as s:  # created again, and usable: a journal entry's lines point at it
            credit = ledger.account(s, AccountKind.CREDIT, household_id=second)
            box = ledger.account(s, AccountKind.CASH_BOX, kiosk_id=mini.till.kiosk_id)
            ledger.transfer(s, EntryKind.CASH_IN, box, credit, 1_000, kiosk_id=mini.till.kiosk_id, memo="note 1")
        with unit_of_work(factory) as s:
            stored = s.scalars(select(Account).where(Account.household_id == second,
                                                    Account.kind == str(AccountKind.CREDIT))).all()
            assert [a.id for a in stored] == [credit.id]
            assert ledger.liability_balance(s, ledger.account(s, AccountKind.CREDIT, household_id=second)) == 1_000
    finally:
        engine.dispose()
