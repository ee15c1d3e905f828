"""A read-only unit of work (`unit_of_work(read_only=True)`, a card's tap): one query is one round trip on
PostgreSQL (no BEGIN, no COMMIT); it cannot write; and the pooled connection it used is transactional again for
the next unit of work, which still rolls back whole on an error."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from kiosk.errors import RecordConflict
from kiosk.persistence.db import pinned, unit_of_work
from kiosk.persistence.round_trips import counting
from tests.persistence.test_with_commit import factory as kept_table  # noqa: F401 - a fixture: the table `kept`


@pytest.fixture()
def factory(kept_table):  # noqa: F811
    with unit_of_work(kept_table) as s:
        s.execute(text("INSERT INTO kept VALUES (1, 'first')"))
    return kept_table


def _rows(factory) -> list[int]:
    with unit_of_work(factory, read_only=True) as s:
        return list(s.execute(text("SELECT x FROM kept ORDER BY x")).scalars())


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_one_query_read_is_one_round_trip_where_a_transaction_took_two(factory):
    _rows(factory)  # the pool's connection made
    with counting(factory.kw["bind"]) as read_only:
        assert _rows(factory) == [1]
    with counting(factory.kw["bind"]) as in_a_transaction:
        with unit_of_work(factory) as s:
            assert list(s.execute(text("SELECT x FROM kept")).scalars()) == [1]
    assert (read_only.round_trips, in_a_transaction.round_trips) == (1, 2), (read_only.line(),
                                                                             in_a_transaction.line())


def test_a_read_only_unit_that_writes_raises_and_nothing_is_written(factory):
    from kiosk.persistence.models import Household  # any mapped class: the ORM flush is what is refused

    with pytest.raises(RuntimeError, match="read-only"):
        with unit_of_work(factory, read_only=True) as s:
            s.add(Household(unit_no="9-9-9"))
            s.flush()
    with unit_of_work(factory) as s:
        assert s.execute(text("SELECT count(*) FROM kept")).scalar_one() == 1


def test_the_next_unit_of_work_on_the_same_connection_is_a_transaction_again(factory):
    """AUTOCOMMIT is the read's alone: a unit of work after it that fails half-way leaves nothing behind."""
    for _ in range(3):  # the pool hands the same connection back each time
        assert _rows(factory) == [1]
        with pytest.raises(RecordConflict):
            with unit_of_work(factory) as s:
                s.execute(text("INSERT INTO kept VALUES (2, 'second')"))
                s.execute(text("INSERT INTO kept VALUES (1, 'clash')"))
    assert _rows(factory) == [1]


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_read_inside_a_pinned_attempt_leaves_the_pinned_connection_transactional(factory):
    """A money use case's units run on the connection its key claim holds (kiosk.persistence.db.pinned); a tap read
    in the middle of it takes a pooled connection of its own and leaves the pinned one as it was."""
    engine = factory.kw["bind"]
    with engine.connect() as conn, pinned(engine, conn):
        assert _rows(factory) == [1]
        with pytest.raises(RecordConflict):
            with unit_of_work(factory) as s:
                assert s.connection().connection.dbapi_connection is conn.connection.dbapi_connection
                s.execute(text("INSERT INTO kept VALUES (2, 'second')"))
                s.execute(text("INSERT INTO kept VALUES (1, 'clash')"))
        assert _rows(factory) == [1]
