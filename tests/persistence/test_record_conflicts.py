"""Integrity violations are bugs or races with a name (E2002, the constraint), never "cannot be reached";
the races behind them - a reference drawn twice, two starts creating the site's rows - are closed."""
from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, text

from kiosk import bootstrap, settings as settings_mod
from kiosk.domain.terms import PaymentMethod, PaymentPurpose
from kiosk.errors import RecordConflict, StorageError
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Kiosk, Payment, Site
from kiosk.services import payments, references
from tests.support import estate


def test_a_unique_violation_is_a_record_conflict_naming_the_constraint(factory) -> None:
    with unit_of_work(factory) as s:
        s.add(Site(code="dup", name_zh_hans="a", name_zh_hant="a", name_en="a"))
    with pytest.raises(RecordConflict) as caught:
        with unit_of_work(factory) as s:
            s.add(Site(code="dup", name_zh_hans="b", name_zh_hant="b", name_en="b"))
    err = caught.value
    assert err.code == "E2002" and type(err) is not StorageError
    assert "sites" in err.detail and "cannot be reached" not in str(err)
    assert err.user_message("zh_Hans") != err.message  # translated for the screen


def test_a_reference_already_taken_is_drawn_again_instead_of_failing_the_payment(factory, monkeypatch) -> None:
    # Force the clash the demo seed met by chance (32 payments, 5 random symbols): the first two draws are equal.
    symbols = itertools.chain("A" * 10, itertools.cycle("23456789"))

    class Drawn:
        @staticmethod
        def choice(alphabet: str) -> str:
            return next(symbols)

    monkeypatch.setattr(references, "secrets", Drawn)
    with unit_of_work(factory) as s:
        mini = estate.build(s, households=1, bills_each=0)
    refs = []

    def intent(key: str) -> str:
        with unit_of_work(factory) as s:
            payment, _ = payments.record_intent(s, mini.till, key=key, purpose=PaymentPurpose.TOP_UP,
                                                method=PaymentMethod.CASH, amount_fen=1_000,
                                                household_id=mini.household_ids[0])
            return payment.reference

    for key in ("k1", "k2"):  # as every use case runs: on PostgreSQL the clash rolls back the try, the next draws
        refs.append(payments.run_attempt(factory, key, lambda: intent(key)))  # noqa: B023 - called at once
    assert refs[0].endswith("-AAAAA") and refs[1].endswith("-23456")
    with unit_of_work(factory) as s:
        assert s.scalar(select(func.count()).select_from(Payment)) == 2


def test_two_starts_on_an_empty_database_share_one_site_and_kiosk_row(backend, engine, factory, db_url,
                                                                      tmp_path: Path) -> None:
    if backend != "postgres":
        pytest.skip("SQLite takes the write lock before the first read: the two starts queue, they cannot race")
    settings = settings_mod.load(tmp_path, db_url=db_url)
    db = bootstrap.Database(engine, factory, db_url)
    other = settings_mod.load(tmp_path / "other", db_url=db_url)
    raced = []

    def the_other_kiosk_gets_there_first(conn, cursor, statement, *_: object) -> None:  # type: ignore[no-untyped-def]
        # Right after this start looked for the site and found none, another process creates both rows.
        if not raced and statement.lstrip().upper().startswith("SELECT") and "FROM sites" in statement:
            raced.append(True)
            with engine.connect() as c2:
                c2.execute(text("INSERT INTO sites (code, name_zh_hans, name_zh_hant, name_en) "
                                "VALUES (:c, 'x', 'x', 'x')"), {"c": other.site.code})
                c2.execute(text("INSERT INTO kiosks (site_id, code, name, out_of_service, out_of_service_reason) "
                                "SELECT id, :k, :k, false, '' FROM sites WHERE code = :c"),
                           {"k": other.site.kiosk_code, "c": other.site.code})
                c2.commit()

    event.listen(engine, "after_cursor_execute", the_other_kiosk_gets_there_first)
    try:
        till = bootstrap.ensure_till(db, settings)
    finally:
        event.remove(engine, "after_cursor_execute", the_other_kiosk_gets_there_first)
    assert raced
    with unit_of_work(factory) as s:
        assert s.scalar(select(func.count()).select_from(Site)) == 1
        assert s.scalar(select(func.count()).select_from(Kiosk)) == 1
        assert till.site_id == s.scalars(select(Site.id)).one()


def test_a_payment_whose_reference_was_drawn_twice_is_paid_on_the_next_try(factory, engine, monkeypatch) -> None:
    """The whole use case, as a kiosk runs it (the key's claim riding on one pinned connection, its chain head kept in
    memory): the intent's clash rolls that try back, and the next try, on the same connection, pays. A COMMIT that a
    riding check stopped must leave that connection usable (it answered "current transaction is aborted" to the next
    try once: the fleet bench met it)."""
    from kiosk.persistence import chain
    from tests.support.chain_key import TEST_CHAIN

    if engine.dialect.name == "postgresql":
        chain.keep_head_in_memory(engine, TEST_CHAIN)
    with unit_of_work(factory) as s:
        mini = estate.build(s, households=1, bills_each=2, card_value_fen=50_000)
    hh = mini.household_ids[0]
    outcomes = []
    for n, bill in enumerate(mini.bill_ids[hh]):
        if n == 1:  # the second payment draws the first one's reference, then another
            taken = outcomes[0].reference.rsplit("-", 1)[1]
            symbols = itertools.chain(taken, itertools.cycle("23456789"))

            class Drawn:
                @staticmethod
                def choice(alphabet: str) -> str:
                    return next(symbols)

            monkeypatch.setattr(references, "secrets", Drawn)
        outcomes.append(payments.pay_bills(factory, mini.till, key=f"pay-{n}", household_id=hh, bill_ids=[bill],
                                           method=PaymentMethod.CARD, card_id=mini.card_ids[hh], language="en"))
    assert outcomes[1].status == "succeeded" and outcomes[1].reference != outcomes[0].reference
