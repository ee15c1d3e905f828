"""Fixtures for the use-case tests: a mini estate on both databases, and the ledger invariant after each test."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from kiosk.domain.terms import AccountKind
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Account
from kiosk.services import ledger
from tests.support import estate


@pytest.fixture
def mini(factory):
    with unit_of_work(factory) as s:
        return estate.build(s, households=2, bills_each=3)


@pytest.fixture(autouse=True)
def ledger_stays_sound(request):
    """After every test that touched a database: every entry balances, no stored value is negative."""
    if "factory" not in request.fixturenames or request.node.get_closest_marker("breaks_ledger"):
        yield
        return
    factory = request.getfixturevalue("factory")
    yield
    with unit_of_work(factory) as s:
        assert ledger.unbalanced_entries(s) == []
        for acct in s.scalars(select(Account).where(Account.kind.in_([str(AccountKind.STORED_VALUE),
                                                                        str(AccountKind.CREDIT)]))):
            assert ledger.liability_balance(s, acct) >= 0, acct.code
