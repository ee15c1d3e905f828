"""Ids taken ahead (kiosk.persistence.id_reservoir): on PostgreSQL a payment's protected rows have their ids before
their INSERT, which then rides with the next statement or the COMMIT; two kiosks' engines never hand out one id
twice; the chain links every such row; SQLite is unchanged."""
from __future__ import annotations

import pytest

from sqlalchemy import func, select

from kiosk.persistence.db import make_engine, unit_of_work
from kiosk.persistence.models import AuditEntry
from kiosk.persistence.round_trips import counting
from kiosk.services import audit
from tests.support.chain_key import bound_factory


@pytest.mark.parametrize("backend", ["postgres"])
def test_audit_rows_get_their_ids_ahead_and_commit_with_their_links_in_one_round_trip(factory):
    with unit_of_work(factory) as s:  # warm: the chain head exists, the reservoir is filled
        audit.record(s, "test", "warm")
    with counting(factory.kw["bind"]) as count:
        with unit_of_work(factory) as s:
            first = audit.record(s, "test", "one").id
            second = audit.record(s, "test", "two").id
    assert second > first
    assert count.round_trips == 2  # the chain head locked (carrying BEGIN and both INSERTs); links with the COMMIT
    with unit_of_work(factory) as s:
        assert s.get(AuditEntry, first).action == "one"
        assert audit.verify(s).ok


@pytest.mark.parametrize("backend", ["postgres"])
def test_two_kiosks_engines_never_hand_out_the_same_id(db_url):
    engines = [make_engine(db_url) for _ in range(2)]
    try:
        factories = [bound_factory(e, chain=f"K0{i + 1}") for i, e in enumerate(engines)]
        ids = []
        for n in range(80):  # more than one refill of each engine, interleaved
            with unit_of_work(factories[n % 2]) as s:
                ids.append(audit.record(s, "test", f"row {n}").id)
        assert len(set(ids)) == 80
        with unit_of_work(factories[0]) as s:
            assert s.scalar(select(func.count()).select_from(AuditEntry)) == 80
            assert audit.verify(s).ok
    finally:
        for e in engines:
            e.dispose()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_sqlite_numbers_rows_as_it_always_did(factory):
    with unit_of_work(factory) as s:
        ids = [audit.record(s, "test", f"row {n}").id for n in range(3)]
    assert ids == [1, 2, 3]


@pytest.mark.parametrize("backend", ["postgres"])
def test_rows_read_in_id_order_keep_time_order_across_two_kiosks(db_url):
    """Banknote events, journal entries and card operations are found by id order (a kiosk's newest event, a
    household's history): their ids are taken when their transaction starts, never from a batch taken earlier."""
    from kiosk.persistence.models import CashEventRecord

    engines = [make_engine(db_url) for _ in range(2)]
    try:
        factories = [bound_factory(e, chain=f"K0{i + 1}") for i, e in enumerate(engines)]
        ids = []
        for n in range(6):  # A, B, A, B, ...: each engine has written before, so any batch it kept would be old
            with unit_of_work(factories[n % 2]) as s:
                row = CashEventRecord(kiosk_id=None, counter=n, kind="stacked", value_fen=100, payment_id=None)
                s.add(row)
                s.flush()
                ids.append(row.id)
        assert ids == sorted(ids)
    finally:
        for e in engines:
            e.dispose()


@pytest.mark.parametrize("backend", ["postgres"])
def test_ids_an_attempt_asks_for_come_with_its_next_first_message_once_and_are_the_sequences_own(factory):
    """ids_ahead (a card replacement's new card and its account): taken by the first transaction that starts, with
    its first message (no round trip of its own), not again by the next; numbers the sequences give, above every
    row there is."""
    from sqlalchemy import text

    from kiosk.persistence import id_reservoir

    with unit_of_work(factory) as s:  # warm
        audit.record(s, "test", "warm")
    with id_reservoir.ids_ahead(cards=1, accounts=2) as ahead:
        with counting(factory.kw["bind"]) as count:
            with unit_of_work(factory) as s:
                s.execute(text("SELECT 1"))
        asked = {table: list(ids) for table, ids in ahead.got.items()}
        with unit_of_work(factory) as s:
            s.execute(text("SELECT 1"))
        assert {table: list(ids) for table, ids in ahead.got.items()} == asked  # not taken twice
    assert count.round_trips == 2  # the SELECT (carrying BEGIN and the ids) and the COMMIT, as without them
    assert [len(asked["cards"]), len(asked["accounts"])] == [1, 2]
    with unit_of_work(factory) as s:
        highest = {t: s.scalar(text(f"SELECT coalesce(max(id), 0) FROM {t}")) for t in ("cards", "accounts")}
    assert asked["cards"][0] > highest["cards"] and min(asked["accounts"]) > highest["accounts"]
    assert ahead.take("accounts") == asked["accounts"][0] and ahead.take("cards") == asked["cards"][0]
    assert ahead.take("cards") is None  # used up: the row's INSERT returns its id, as before


@pytest.mark.parametrize("backend", ["postgres"])
def test_journal_entry_ids_an_attempt_asks_for_are_kept_apart_from_the_transactions_own(factory):
    """A top-up's preparation takes its settlement's journal entry ids (ids_ahead(journal_entries=2)) in the same
    query as its own journal entry ids: its own stay its own, the attempt's go to the transaction they are handed
    to (id_reservoir.hand_over), whose entry's INSERT then has its id before anything was sent."""
    from sqlalchemy import text

    from kiosk.domain.terms import AccountKind, EntryKind
    from kiosk.persistence import id_reservoir
    from kiosk.persistence.models import JournalEntry
    from kiosk.services import ledger

    with id_reservoir.ids_ahead(journal_entries=2) as ahead:
        with unit_of_work(factory) as s:
            s.execute(text("SELECT 1"))
            own = list(s.connection().connection.dbapi_connection.transaction_ids["journal_entries"])
    asked = list(ahead.got["journal_entries"])
    assert len(own) == id_reservoir.PER_TRANSACTION and len(asked) == 2 and not set(own) & set(asked)
    with unit_of_work(factory) as s:
        id_reservoir.hand_over(s, ahead, "journal_entries")
        box = ledger.account(s, AccountKind.CASH_BOX, kiosk_id=None)
        entry = ledger.transfer(s, EntryKind.CASH_IN, box, ledger.account(s, AccountKind.SUSPENSE, kiosk_id=None), 100,
                                memo="handed")
    assert entry.id == asked[0] and ahead.got == {}
    with unit_of_work(factory) as s:
        assert s.get(JournalEntry, asked[0]).memo == "handed"


def test_ids_ahead_are_only_for_the_tables_that_take_them():
    from kiosk.persistence import id_reservoir

    with pytest.raises(ValueError, match="payments"):  # journal entries, cards and accounts only
        with id_reservoir.ids_ahead(payments=1):
            pass


@pytest.mark.parametrize("backend", ["sqlite"])
def test_ids_ahead_on_sqlite_give_none_and_rows_are_numbered_as_before(factory):
    from kiosk.persistence import id_reservoir

    with id_reservoir.ids_ahead(cards=1) as ahead:
        with unit_of_work(factory) as s:
            audit.record(s, "test", "one")
    assert ahead.take("cards") is None
