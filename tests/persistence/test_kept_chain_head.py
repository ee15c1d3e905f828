"""The chain head kept in memory by its one writer (kiosk.persistence.chain.keep_head_in_memory, PostgreSQL):
no head read before a commit, threads of the process never compute links from the same head, and a second writer
of the same chain makes the keeping process's next transaction fail whole at its COMMIT (never a broken chain),
after which it reads the head again."""
from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from sqlalchemy import func, select

from kiosk.errors import ChainHeadMoved
from kiosk.persistence import chain
from kiosk.persistence.db import make_engine, unit_of_work
from kiosk.persistence.models import AuditEntry, CardOperation, ChainLink
from kiosk.persistence.round_trips import counting
from kiosk.services import audit, integrity
from tests.support import estate
from tests.support.chain_key import TEST_AUDIT_KEY, TEST_CHAIN, bound_factory


def _write(factory, subject: str) -> None:
    with unit_of_work(factory) as s:
        audit.record(s, "test", "note", subject)


def _verified(factory) -> None:
    with unit_of_work(factory) as s:
        report = integrity.verify(s, TEST_AUDIT_KEY)
    assert report.ok, report.problems


def _subjects(factory) -> set[str]:
    with unit_of_work(factory) as s:
        return set(s.scalars(select(AuditEntry.subject).where(AuditEntry.action == "note")))


def _round_trips(factory, write) -> int:
    with counting(factory.kw["bind"]) as count:
        write()
    return count.round_trips


@pytest.fixture()
def keeping(db_url):
    engine = make_engine(db_url)
    assert chain.keep_head_in_memory(engine, TEST_CHAIN)
    yield bound_factory(engine)
    engine.dispose()


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_kept_head_saves_the_head_read_and_follows_every_commit(keeping, db_url):
    engine = keeping.kw["bind"]
    _write(keeping, "first")  # reads the head (locked), keeps what its links moved it to
    first = chain.kept_head(engine, TEST_CHAIN)
    assert first is not None
    kept_trips = _round_trips(keeping, lambda: _write(keeping, "second"))
    with unit_of_work(keeping) as s:
        assert chain.kept_head(engine, TEST_CHAIN).seq == s.scalar(select(func.max(ChainLink.seq))) == first.seq + 1
    reading_engine = make_engine(db_url)  # the same write by a process that keeps nothing: it reads the head
    try:
        reading = bound_factory(reading_engine, chain="K02")
        _write(reading, "warm")  # its pool's connection open, its chain started
        assert _round_trips(reading, lambda: _write(reading, "read")) == kept_trips + 1
    finally:
        reading_engine.dispose()
    _verified(keeping)


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_second_writer_of_the_chain_fails_the_keeping_transaction_whole_and_the_next_one_succeeds(keeping, db_url):
    other_engine = make_engine(db_url)  # another process with the same chain: a CLI command, an old app dying
    try:
        other = bound_factory(other_engine)
        _write(keeping, "kept")
        _write(other, "behind its back")  # the head moves; the keeping process does not know
        with pytest.raises(ChainHeadMoved) as refused:
            _write(keeping, "on a stale head")
        assert refused.value.code == "E7020"
        assert chain.kept_head(keeping.kw["bind"], TEST_CHAIN) is None  # dropped: read again next time
        assert _subjects(other) == {"kept", "behind its back"}  # nothing of the refused transaction
        _verified(other)
        _write(keeping, "after")
        assert _subjects(keeping) == {"kept", "behind its back", "after"}
        _verified(other)
    finally:
        other_engine.dispose()


def _in_threads(target: Callable[[int], None], count: int, timeout_s: float) -> list[BaseException]:
    """`target(0..count-1)` on as many threads at once; what they raised."""
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            target(n)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout_s)
    return errors


@pytest.mark.parametrize("backend", ["postgres"])
def test_threads_of_one_process_never_link_from_the_same_kept_head(keeping):
    def writer(n: int) -> None:
        for i in range(8):
            _write(keeping, f"t{n}-{i}")

    errors = _in_threads(writer, 4, 60)
    assert not errors, errors
    assert len(_subjects(keeping)) == 32
    _verified(keeping)


def test_a_command_writes_a_chain_of_its_own_beside_the_kiosks():
    assert chain.writer_binding(chain.ChainBinding(TEST_AUDIT_KEY, "K01"), "cli").chain == "K01.cli"
    assert len(chain.writer_binding(chain.ChainBinding(TEST_AUDIT_KEY, "L" * 40), "cli").chain) == 40


@pytest.mark.parametrize("backend", ["sqlite"])
def test_sqlite_keeps_no_head(engine):
    assert not chain.keep_head_in_memory(engine, TEST_CHAIN)


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_kept_head_the_database_no_longer_has_fails_whole_rather_than_leaving_a_gap(keeping):
    """A head behind the kept one (a standby that lost the last commits, a restored database): the next seq is free,
    but the head does not move from where the process thought it was, so no link is written and nothing commits."""
    engine = keeping.kw["bind"]
    _write(keeping, "kept")
    kept = chain._kept[engine][TEST_CHAIN]
    kept.head = kept.head._replace(seq=kept.head.seq + 2, last_mac="f" * 64)  # two commits the database lost
    with pytest.raises(ChainHeadMoved):
        _write(keeping, "on a head the database never had")
    assert chain.kept_head(engine, TEST_CHAIN) is None
    _write(keeping, "after")
    assert _subjects(keeping) == {"kept", "after"}
    _verified(keeping)


def _set_status(factory, op_id: int, status: str) -> None:
    with unit_of_work(factory) as s:
        s.get(CardOperation, op_id).status = status


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_row_this_process_linked_is_changed_without_reading_its_link_and_one_changed_since_is_read(keeping, db_url):
    engine = keeping.kw["bind"]
    with unit_of_work(keeping) as s:
        mini = estate.build(s, households=1)
        card_id = mini.card_ids[mini.household_ids[0]]
    with unit_of_work(keeping) as s:
        op = CardOperation(card_id=card_id, kind="sync", old_value_fen=50_000, new_value_fen=50_000, old_counter=1,
                           new_counter=2, status="pending")
        s.add(op)
    kept_trips = _round_trips(keeping, lambda: _set_status(keeping, op.id, "done"))  # its link kept: v1
    office_engine = make_engine(db_url)
    try:
        office = bound_factory(office_engine, chain=f"{TEST_CHAIN}.cli")  # another writer, its own chain
        chain.keep_head_in_memory(office_engine, f"{TEST_CHAIN}.cli")
        _set_status(office, op.id, "pending")  # its head kept from now on; the op's link read (version 2 -> 3)
        _set_status(office, op.id, "failed")  # version 4: the link it wrote itself, kept
        assert _round_trips(office, lambda: _set_status(office, op.id, "done")) == kept_trips  # version 5
        _set_status(office, op.id, "failed")  # version 6, behind the keeping process's back
        reads = _round_trips(keeping, lambda: _set_status(keeping, op.id, "done"))  # loaded as "failed", not as
        assert reads == kept_trips + 1  # kept: its newest link is read (one query), version 7
        with unit_of_work(office) as s:
            versions = s.scalars(select(ChainLink.version).where(ChainLink.kind == "card_operation",
                                                                 ChainLink.row_id == op.id).order_by(ChainLink.version))
            assert list(versions) == [1, 2, 3, 4, 5, 6, 7]
        _verified(office)
    finally:
        office_engine.dispose()


@pytest.mark.parametrize("backend", ["postgres"])
def test_money_paid_from_several_threads_on_a_kept_head_links_every_row_once(keeping):
    """Payments with receipt numbers (the head read with the number) and banknotes' cash-ins (the kept head) from
    four threads at once, as the UI flows and the recovery thread do: every one succeeds and the chain verifies."""
    from tests.support import money_uses

    with unit_of_work(keeping) as s:
        mini = estate.build(s, households=4, bills_each=3, card_value_fen=500_000)
    def pay(n: int) -> None:
        hh = mini.household_ids[n]
        for b, how in enumerate(("card", "cash", "card")):
            money_uses.pay_bill(keeping, mini.till, key=f"t{n}-{b}", household_id=hh,
                                bill_id=mini.bill_ids[hh][b], how=how, card_id=mini.card_ids[hh])

    errors = _in_threads(pay, 4, 120)
    assert not errors, errors
    _verified(keeping)
