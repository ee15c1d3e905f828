"""A statement sent with the COMMIT (kiosk.persistence.with_commit; the audit chain's links): committed with the
transaction in one round trip, or, if it fails, the whole transaction rolled back with one clear error; a rollback
drops it unsent, and it never leaks into the next transaction on the same pooled connection."""
from __future__ import annotations

import pytest

from sqlalchemy import text

from kiosk.errors import PaymentError, RecordConflict
from kiosk.persistence.db import make_engine, make_session_factory, unit_of_work
from kiosk.persistence.round_trips import counting
from kiosk.persistence.with_commit import WITH_COMMIT

KEPT = {WITH_COMMIT: True}


def _rows(factory) -> list[int]:
    with unit_of_work(factory) as s:
        return list(s.execute(text("SELECT x FROM kept ORDER BY x")).scalars())


@pytest.fixture()
def factory(db_url):
    engine = make_engine(db_url)
    f = make_session_factory(engine)
    with unit_of_work(f) as s:
        s.execute(text("CREATE TABLE kept (x integer PRIMARY KEY, note text)"))
    yield f
    engine.dispose()


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_statement_kept_for_the_commit_is_committed_with_it_in_one_round_trip(factory):
    with counting(factory.kw["bind"]) as count:
        with unit_of_work(factory) as s:
            s.execute(text("INSERT INTO kept VALUES (1, :note)"), {"note": "it's 100% ok; COMMIT"})
            s.execute(text("INSERT INTO kept VALUES (2, :note)"), {"note": "with the commit"}, execution_options=KEPT)
    assert count.round_trips == 3  # BEGIN, the first insert, the second insert with the COMMIT
    assert _rows(factory) == [1, 2]
    with unit_of_work(factory) as s:
        assert s.execute(text("SELECT note FROM kept WHERE x = 1")).scalar_one() == "it's 100% ok; COMMIT"


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_kept_statement_that_fails_rolls_the_whole_transaction_back_with_one_clear_error(factory):
    with unit_of_work(factory) as s:
        s.execute(text("INSERT INTO kept VALUES (1, 'first')"))
    with pytest.raises(RecordConflict):
        with unit_of_work(factory) as s:
            s.execute(text("INSERT INTO kept VALUES (2, 'second')"))
            s.execute(text("INSERT INTO kept VALUES (1, 'clash')"), execution_options=KEPT)
    assert _rows(factory) == [1]


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_rollback_drops_the_kept_statement_and_the_next_transaction_never_sends_it(factory):
    with pytest.raises(PaymentError):
        with unit_of_work(factory) as s:
            s.execute(text("INSERT INTO kept VALUES (5, 'kept')"), execution_options=KEPT)
            raise PaymentError("the use case gave up")
    with unit_of_work(factory) as s:  # the same pooled connection
        s.execute(text("INSERT INTO kept VALUES (6, 'next')"))
    assert _rows(factory) == [6]


@pytest.mark.parametrize("backend", ["postgres"])
def test_two_kept_statements_in_one_transaction_are_both_committed(factory):
    with unit_of_work(factory) as s:
        s.execute(text("INSERT INTO kept VALUES (7, 'a')"), execution_options=KEPT)
        s.execute(text("INSERT INTO kept VALUES (8, 'b')"), execution_options=KEPT)
    assert _rows(factory) == [7, 8]
