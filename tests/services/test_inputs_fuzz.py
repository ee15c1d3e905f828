"""Fuzzing every input from outside: CSV imports, settings files, database URLs. Whatever comes in ends in a
result or one KioskError with a code and a translated message, never another exception.

Example counts are capped (FUZZ_EXAMPLES) so that the CI profile's 10,000 per property does not make these
take minutes: each example opens files or a database transaction. HYPOTHESIS_PROFILE=long lifts the cap."""
from __future__ import annotations

import contextlib
import csv
import io
import os
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kiosk import settings as settings_mod
from kiosk import settings_toml
from kiosk.errors import ConfigError, ImportFileError, KioskError
from kiosk.i18n import LANGUAGES
from kiosk.persistence.db import make_engine, sqlite_url
from kiosk.services import imports
from tests.support import estate
from tests.support.databases import sqlite_database
from tests.support.chain_key import bound_factory

FUZZ_EXAMPLES = 200_000 if os.environ.get("HYPOTHESIS_PROFILE") == "long" else 300
fuzz = settings(max_examples=min(settings().max_examples, FUZZ_EXAMPLES), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def assert_one_clear_error(error: KioskError) -> None:
    assert error.code.startswith("E") and len(error.code) == 5
    for language in LANGUAGES:
        line = error.user_message(language)
        assert line and "{" not in line.replace("{{", "")
    assert str(error).startswith(f"[{error.code}] ")


# --- CSV imports --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def estate_db(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One SQLite estate for every example; each import runs in a transaction that is rolled back."""
    with sqlite_database(tmp_path_factory.mktemp("fuzz")) as url:
        engine = make_engine(url)
        factory = bound_factory(engine)
        with factory() as s:
            mini = estate.build(s, households=2, bills_each=1)
            s.commit()
        yield factory, mini
        engine.dispose()


def run_import(estate_db, data: bytes | str, what: str = "bills") -> None:  # type: ignore[no-untyped-def]
    factory, mini = estate_db
    with factory() as s:
        try:
            if what == "bills":
                result = imports.import_bills(s, mini.till.site_id, data, actor="fuzz")
                assert result.count >= 0 and 0 <= result.total_fen
            else:
                imports.import_notices(s, mini.till.site_id, data, actor="fuzz")
        except ImportFileError as exc:
            assert_one_clear_error(exc)
            problems = imports.problems_of(exc)
            assert problems and exc.params["count"] == len(problems)
            assert all(isinstance(line, int) and line >= 1 and len(reason) < 400 for line, reason in problems)
        finally:
            s.rollback()


def csv_text(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


amounts = st.one_of(
    st.integers(-2**70, 2**70).map(str),
    st.decimals(allow_nan=True, allow_infinity=True, places=3).map(str),
    st.from_regex(r"[+-]?[0-9,]{0,30}(\.[0-9]{0,4})?", fullmatch=True),
    st.sampled_from(["92233720368547758.07", "1000000.00", "1000000.01", "0.01", "-0.01", "1e400", "١٢٣", "NaN"]),
    st.text(max_size=30),
)
units = st.sampled_from(["1-0101", "1-0201", "9-9999", "", "1-0101 "])
kinds = st.sampled_from(["water", "management", "rent", "wine", ""])
bill_rows = st.lists(st.tuples(units, kinds, st.sampled_from(["2026-11", "2026-13", "٢٠٢٦-11"]), amounts,
                               st.sampled_from(["2026-12-15", "2026-02-30", "20261215", "x"]),
                               st.text(min_size=0, max_size=70)).map(list), max_size=8)


@fuzz
@given(st.binary(max_size=4096))
def test_random_bytes_as_a_bill_file(estate_db, data: bytes) -> None:
    run_import(estate_db, data)


@fuzz
@given(bill_rows, st.booleans(), st.sampled_from([list(imports.BILL_COLUMNS), list(reversed(imports.BILL_COLUMNS)),
                                                  ["unit_no", "kind", "amount"], []]))
def test_random_bill_rows(estate_db, rows: list[list[str]], bom: bool, header: list[str]) -> None:
    text = csv_text([header, *rows])
    run_import(estate_db, ("\ufeff" if bom else "") + text)


@fuzz
@given(st.integers(0, 5), st.integers(1, 300_000), st.sampled_from("x\"\n,é"))
def test_huge_fields_and_quotes(estate_db, column: int, size: int, char: str) -> None:
    row = ["1-0101", "water", "2026-11", "1.00", "2026-12-15", "REF-1"]
    row[column] = char * size
    run_import(estate_db, csv_text([list(imports.BILL_COLUMNS), row]))


@fuzz
@given(st.text(max_size=300), st.sampled_from(["utf-8", "utf-16", "gbk", "big5", "latin-1"]))
def test_text_in_other_encodings(estate_db, text: str, encoding: str) -> None:
    try:
        data = (",".join(imports.BILL_COLUMNS) + "\n" + text).encode(encoding)
    except UnicodeEncodeError:
        assume(False)
        return
    run_import(estate_db, data)


@fuzz
@given(st.lists(st.lists(st.text(max_size=40), min_size=11, max_size=11), max_size=4),
       st.sampled_from(["2026-12-01 09:00", "0001-01-01T00:00+14:00", "9999-12-31T23:59-12:00", "x"]))
def test_random_notice_rows(estate_db, rows: list[list[str]], moment: str) -> None:
    for row in rows:
        row[2] = moment
    run_import(estate_db, csv_text([list(imports.NOTICE_COLUMNS), *rows]), "notices")


# --- settings files -------------------------------------------------------------------------------------------
def load_file(tmp: Path, raw: bytes) -> None:
    site = tmp / "site.toml"
    site.write_bytes(raw)
    try:
        loaded = settings_mod.load(tmp, str(site), with_secrets=False)
    except ConfigError as exc:
        assert_one_clear_error(exc)
    else:
        assert loaded.limits.max_item_fen >= 1


@fuzz
@given(st.binary(max_size=2048))
def test_random_bytes_as_a_settings_file(tmp_path_factory, raw: bytes) -> None:
    load_file(tmp_path_factory.mktemp("toml"), raw)


scalars = st.one_of(st.integers(-2**64, 2**64), st.floats(), st.booleans(), st.text(max_size=60),
                    st.lists(st.integers(-10, 10**9), max_size=70), st.lists(st.text(max_size=10), max_size=3),
                    st.dictionaries(st.text(max_size=8), st.integers(-10, 10**16), max_size=3))


def known_keys() -> list[tuple[str, str]]:
    defaults = settings_toml.read_toml(settings_mod.DEFAULT_FILE)
    return [(table, key) for table, values in defaults.items() if isinstance(values, dict)
            for key in values] + [("devices.reader", "poll_ms"), ("devices.cash", "address"),
                                  ("site.hours", "mon"), ("limits", "max_item_fen")]


@fuzz
@given(st.lists(st.tuples(st.sampled_from(known_keys()), scalars), min_size=1, max_size=6))
def test_valid_toml_with_wrong_types_and_values(tmp_path_factory, entries) -> None:  # type: ignore[no-untyped-def]
    doc: dict = {}
    for (table, key), value in entries:
        node = doc
        for part in table.split("."):
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                assume(False)
        node[key] = value
    load_file(tmp_path_factory.mktemp("toml"), tomli_w.dumps(doc).encode("utf-8"))


# --- database URLs ----------------------------------------------------------------------------------------------
def open_url(tmp: Path, url: str) -> None:
    """Load the settings with the URL and build the engine; nothing is connected (a random host would be
    looked up in DNS): connecting is the bounded wait of tests/persistence/test_start_wait.py."""
    try:
        with contextlib.chdir(tmp):  # a relative SQLite path ("sqlite:///name") is created where we stand
            loaded = settings_mod.load(tmp, db_url=url, with_secrets=False)
            engine = make_engine(url or sqlite_url(tmp))
    except ConfigError as exc:
        assert_one_clear_error(exc)
    else:
        assert loaded.database.url == url
        assert engine.dialect.name in ("sqlite", "postgresql")
        engine.dispose()


@fuzz
@given(st.text(max_size=120))
def test_random_text_as_a_database_url(tmp_path_factory, url: str) -> None:
    open_url(tmp_path_factory.mktemp("url"), url)


@fuzz
@given(st.sampled_from(["mysql", "mysql+pymysql", "postgres", "postgresql", "postgresql+psycopg",
                        "postgresql+psycopg2", "sqlite", "sqlite+pysqlite", "oracle", "mssql+pyodbc", "SQLITE",
                        "http", ""]),
       st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
def test_other_dialects_and_broken_urls(tmp_path_factory, scheme: str, rest: str) -> None:
    open_url(tmp_path_factory.mktemp("url"), f"{scheme}://{rest}")
