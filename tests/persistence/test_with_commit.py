"""Statements that ride with the next one or the COMMIT (kiosk.persistence.with_commit; BEGIN, the audit chain's
links, writes nobody reads): committed with the transaction in one round trip, or, if one fails, the whole
transaction rolled back with one clear error; a row check that fails raises the caller's error and commits nothing;
a rollback drops them unsent, and none leaks into the next transaction on the same pooled connection; the same sent as
one pipeline of prepared statements or, behind a transaction pooler, as one text message; a failed check logs nothing
but the caller's error."""
from __future__ import annotations

import pytest

from sqlalchemy import text

from kiosk.errors import PaymentError, RecordConflict
from kiosk.persistence.db import behind_transaction_pooler, make_engine, make_session_factory, unit_of_work
from kiosk.persistence.round_trips import counting
from kiosk.persistence.commit_option import riding
from kiosk.persistence.with_commit import WITH_COMMIT

KEPT = {WITH_COMMIT: True}


def _rows(factory) -> list[int]:
    with unit_of_work(factory) as s:
        return list(s.execute(text("SELECT x FROM kept ORDER BY x")).scalars())


@pytest.fixture(params=["pipeline", "one message"])
def factory(request, db_url):
    """Riders sent as a pipeline of statements, or as one text message behind a transaction pooler."""
    engine = make_engine(db_url, transaction_pooler=request.param == "one message")
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
    assert count.round_trips == 2  # BEGIN with the first insert, the second insert with the COMMIT
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


@pytest.mark.parametrize("backend", ["postgres"])
def test_riding_writes_go_with_the_next_read_which_sees_them_in_one_round_trip(factory):
    with counting(factory.kw["bind"]) as count:
        with unit_of_work(factory) as s:
            s.execute(text("INSERT INTO kept VALUES (1, '50% off')"), execution_options=riding())
            s.execute(text("INSERT INTO kept VALUES (2, :n)"), {"n": "b"}, execution_options=riding())
            seen = s.execute(text("SELECT count(*) FROM kept WHERE note LIKE :p"), {"p": "%off"}).scalar_one()
    assert seen == 1
    assert count.round_trips == 2  # BEGIN + two inserts + the read; the COMMIT
    assert _rows(factory) == [1, 2]


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_riding_update_that_touches_other_than_the_rows_expected_raises_the_callers_error_and_commits_nothing(
        factory):
    with unit_of_work(factory) as s:
        s.execute(text("INSERT INTO kept VALUES (1, 'open'), (2, 'paid')"))
    with pytest.raises(PaymentError, match="taken"):
        with unit_of_work(factory) as s:
            s.execute(text("INSERT INTO kept VALUES (3, 'new')"))
            s.execute(text("UPDATE kept SET note = 'mine' WHERE note = 'open' OR x = 2"),
                      execution_options=riding(1, lambda: PaymentError("taken")))
    with unit_of_work(factory) as s:
        assert s.execute(text("SELECT x, note FROM kept ORDER BY x")).all() == [(1, "open"), (2, "paid")]
    with counting(factory.kw["bind"]) as count:  # the right count: committed with the COMMIT, one round trip
        with unit_of_work(factory) as s:
            s.execute(text("UPDATE kept SET note = 'mine' WHERE note = 'open'"),
                      execution_options=riding(1, lambda: PaymentError("taken")))
    assert count.round_trips == 1
    assert _rows(factory) == [1, 2]


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_transaction_that_sends_nothing_costs_no_round_trip(factory):
    with counting(factory.kw["bind"]) as count:
        with unit_of_work(factory):
            pass
    assert count.round_trips == 0


@pytest.mark.parametrize("backend", ["postgres"])
def test_an_executemany_sends_the_riding_statements_ahead_of_it(factory):
    with counting(factory.kw["bind"]) as count:
        with unit_of_work(factory) as s:
            s.execute(text("INSERT INTO kept VALUES (1, 'a')"), execution_options=riding())
            s.execute(text("INSERT INTO kept VALUES (:x, :n)"), [{"x": 2, "n": "b"}, {"x": 3, "n": "c"}])
    assert _rows(factory) == [1, 2, 3]
    assert count.round_trips == 3  # BEGIN + the insert; the executemany; the COMMIT


def _prepared_on_this_connection(session) -> list[str]:
    return list(session.execute(text("SELECT statement FROM pg_prepared_statements")).scalars())


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_riding_statement_sent_again_and_again_is_prepared_once_on_its_connection_but_never_behind_a_pooler(
        factory):
    for x in range(8):
        with unit_of_work(factory) as s:
            s.execute(text("INSERT INTO kept VALUES (:x, 'again')"), {"x": x}, execution_options=riding())
            prepared = _prepared_on_this_connection(s)  # the insert rides with this read
    prepared_inserts = [statement for statement in prepared if "INSERT INTO kept" in statement]
    if behind_transaction_pooler(factory.kw["bind"]):  # the next transaction may be on another server connection
        assert not prepared_inserts
    else:
        assert prepared_inserts, prepared
    assert _rows(factory) == list(range(8))


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_riding_check_that_fails_before_the_read_it_rides_with_logs_nothing_but_the_callers_error(factory, caplog):
    with unit_of_work(factory) as s:
        s.execute(text("INSERT INTO kept VALUES (1, 'open')"))
    caplog.set_level("WARNING")
    with pytest.raises(PaymentError, match="taken"):
        with unit_of_work(factory) as s:
            s.execute(text("UPDATE kept SET note = 'mine' WHERE note = 'paid'"),
                      execution_options=riding(1, lambda: PaymentError("taken")))
            s.execute(text("INSERT INTO kept VALUES (2, 'after')"), execution_options=riding())
            s.execute(text("SELECT count(*) FROM kept")).scalar_one()  # the riders go with this read
    assert not [r for r in caplog.records if r.name.startswith("psycopg")], caplog.text
    assert _rows(factory) == [1]
