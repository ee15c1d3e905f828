"""The ledger's invariants on both databases: balanced, append-only, never negative."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, select, text, update


from kiosk.domain.terms import AccountKind, EntryKind
from kiosk.errors import InsufficientBalance, InvalidAmount, StorageError
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import JournalEntry, JournalLine
from kiosk.services import ledger
from kiosk.services.ledger import Posting
from tests.support import estate


def test_unbalanced_entry_is_refused_and_nothing_is_written(factory):
    with unit_of_work(factory) as s:
        a = ledger.account(s, AccountKind.CASH_BOX, kiosk_id=None)
        b = ledger.account(s, AccountKind.GATEWAY_CLEARING)
    with pytest.raises(InvalidAmount):
        with unit_of_work(factory) as s:
            ledger.post(s, EntryKind.TOP_UP, [Posting(s.merge(a), 100), Posting(s.merge(b), -99)])
    with unit_of_work(factory) as s:
        assert s.scalar(select(JournalLine.id).limit(1)) is None


def test_float_amounts_are_refused(factory):
    with pytest.raises(InvalidAmount):
        with unit_of_work(factory) as s:
            a = ledger.account(s, AccountKind.GATEWAY_CLEARING)
            b = ledger.account(s, AccountKind.REVENUE, fee_kind="water")
            ledger.post(s, EntryKind.TOP_UP, [Posting(a, 1.5), Posting(b, -1.5)])  # type: ignore[arg-type]


@pytest.mark.parametrize("statement", ["update", "delete"])
def test_database_refuses_changing_ledger_lines(factory, statement):
    with unit_of_work(factory) as s:
        estate.build(s, households=1, bills_each=1)
    with pytest.raises(StorageError):
        with unit_of_work(factory) as s:
            if statement == "update":
                s.execute(update(JournalLine).values(amount_fen=1))
            else:
                s.execute(delete(JournalEntry))


def test_stored_value_never_goes_negative(factory):
    with unit_of_work(factory) as s:
        mini = estate.build(s, households=1, bills_each=0, card_value_fen=1_000)
        card_id = next(iter(mini.card_ids.values()))
    with pytest.raises(InsufficientBalance):
        with unit_of_work(factory) as s:
            sv = ledger.account(s, AccountKind.STORED_VALUE, card_id=card_id)
            rev = ledger.account(s, AccountKind.REVENUE, fee_kind="service")
            ledger.spend_liability(s, EntryKind.BILL_PAYMENT, sv, rev, 1_001)
    with unit_of_work(factory) as s:
        sv = ledger.account(s, AccountKind.STORED_VALUE, card_id=card_id)
        assert ledger.liability_balance(s, sv) == 1_000


def test_void_is_a_new_reversing_entry(factory):
    with unit_of_work(factory) as s:
        estate.build(s, households=1, bills_each=1, card_value_fen=0)
        first = s.scalars(select(JournalEntry)).first()
        ledger.reverse(s, first, memo="wrong bill")
    with unit_of_work(factory) as s:
        entries = s.scalars(select(JournalEntry).order_by(JournalEntry.id)).all()
        assert len(entries) == 2 and entries[1].reverses_entry_id == entries[0].id
        total = s.execute(text("SELECT COALESCE(SUM(amount_fen), 0) FROM journal_lines")).scalar()
        assert total == 0 and ledger.unbalanced_entries(s) == []
