"""Bill amounts from outside are bounded per item and in sum; whatever the file holds, one ImportFileError names
the lines; a household's total is read exactly even past what SQL SUM can hold."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from kiosk.domain.bounds import BIGINT_MAX, DEFAULT_MAX_ITEM_FEN, MAX_ITEM_CEILING_FEN
from kiosk.domain.terms import AccountKind, EntryKind
from kiosk.errors import ImportFileError
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Bill, JournalEntry, Notice
from kiosk.services import households, imports, ledger

HEADER = "unit_no,kind,period,amount,due_date,external_ref\n"


def _import(factory, mini, data, **kw):
    with unit_of_work(factory) as s:
        return imports.import_bills(s, mini.till.site_id, data, actor="staff:王芳", **kw)


def _counts(factory):
    with unit_of_work(factory) as s:
        return (s.scalar(select(func.count()).select_from(Bill)),
                s.scalar(select(func.count()).select_from(JournalEntry)))


def _refused(factory, mini, data, **kw) -> dict[int, str]:
    before = _counts(factory)
    with pytest.raises(ImportFileError) as err:
        _import(factory, mini, data, **kw)
    assert _counts(factory) == before
    assert err.value.code == "E2100"
    return dict(imports.problems_of(err.value))


def test_the_issue_s_bill_of_92_quadrillion_yuan_is_refused_with_its_line(factory, mini):
    problems = _refused(factory, mini, HEADER + "1-0101,water,2026-11,1.00,2026-12-15,OK-1\n"
                                                "1-0101,water,2026-11,92233720368547758.07,2026-12-15,BIG-1\n")
    assert list(problems) == [3]
    assert "above the maximum of 1000000.00 per item (limits.max_item_fen)" in problems[3]


def test_an_amount_at_the_maximum_is_taken_and_one_fen_more_is_not(factory, mini):
    assert _import(factory, mini, HEADER + "1-0101,water,2026-11,1000000.00,2026-12-15,MAX-1\n").total_fen == \
        DEFAULT_MAX_ITEM_FEN
    problems = _refused(factory, mini, HEADER + "1-0101,water,2026-11,\"1,000,000.01\",2026-12-15,MAX-2\n")
    assert "1000000.01 is above the maximum" in problems[2]


def test_the_configured_maximum_is_the_bound(factory, mini):
    problems = _refused(factory, mini, HEADER + "1-0101,water,2026-11,50.01,2026-12-15,LOW-1\n", max_item_fen=5_000)
    assert "above the maximum of 50.00" in problems[2]


@pytest.mark.parametrize("amount, words", [
    ("-5", "more than zero"), ("0.00", "more than zero"), ("12.345", "not yuan"), ("1e9", "not yuan"),
    ("١٢", "not yuan"), ("1" * 25, "not yuan"), ("NaN", "not yuan"), ("", "not yuan"),
])
def test_amounts_that_are_not_positive_yuan_are_bad_rows(factory, mini, amount, words):
    problems = _refused(factory, mini, HEADER + f"1-0101,water,2026-11,{amount},2026-12-15,A-1\n")
    assert words in problems[2]


def test_a_household_total_past_a_bigint_is_refused_at_the_line_that_crosses_it(factory, mini):
    """With the largest per-item maximum a site may configure, 9,223 bills fit one household and the next
    one does not: that line (and every later one) is named, and nothing is imported."""
    fit = BIGINT_MAX // MAX_ITEM_CEILING_FEN  # 9223
    with unit_of_work(factory) as s:
        owed = ledger.balance(s, ledger.account(s, AccountKind.RECEIVABLE, household_id=mini.household_ids[0]))
    crossing = next(n for n in range(1, fit + 2) if owed + n * MAX_ITEM_CEILING_FEN > BIGINT_MAX)
    rows = "".join(f"1-0101,rent,2026-11,10000000000000.00,2026-12-15,H-{n}\n" for n in range(1, fit + 3))
    problems = _refused(factory, mini, HEADER + rows, max_item_fen=MAX_ITEM_CEILING_FEN)
    assert min(problems) == crossing + 1  # the header is line 1
    assert "more than the 92233720368547758.07 a ledger account can hold" in problems[crossing + 1]


def test_many_maximum_bills_still_fit_and_the_total_reads_back_exactly(factory, mini):
    hh = mini.household_ids[1]
    with unit_of_work(factory) as s:
        before = households.household_summary(s, hh, "en").total_due_fen
    rows = "".join(f"1-0201,rent,2026-11,10000000000000.00,2026-12-15,M-{n}\n" for n in range(9_000))
    result = _import(factory, mini, HEADER + rows, max_item_fen=MAX_ITEM_CEILING_FEN)
    assert result.total_fen == 9_000 * MAX_ITEM_CEILING_FEN
    with unit_of_work(factory) as s:
        summary = households.household_summary(s, hh, "en")
        assert summary.total_due_fen == before + 9_000 * MAX_ITEM_CEILING_FEN
        receivable = ledger.account(s, AccountKind.RECEIVABLE, household_id=hh)
        assert ledger.balance(s, receivable) == summary.total_due_fen


def test_a_ledger_account_past_what_sql_sum_can_hold_is_still_read_exactly(factory, mini):
    """A database written before the bounds (the issue's bill went in): SQLite's SUM() stops with "integer
    overflow" on this account; the ledger reads it in two halves and gets the exact total."""
    hh = mini.household_ids[0]
    with unit_of_work(factory) as s:
        receivable = ledger.account(s, AccountKind.RECEIVABLE, household_id=hh)
        owed = ledger.balance(s, receivable)
        for n in range(2):
            ledger.transfer(s, EntryKind.BILL_ISSUED, receivable, ledger.account(s, AccountKind.REVENUE, fee_kind=f"k{n}"),
                            BIGINT_MAX, memo=f"legacy {n}")
    with unit_of_work(factory) as s:
        receivable = ledger.account(s, AccountKind.RECEIVABLE, household_id=hh)
        assert ledger.balance(s, receivable) == owed + 2 * BIGINT_MAX
        assert ledger.balances(s, [receivable.id]) == {receivable.id: owed + 2 * BIGINT_MAX}
    with unit_of_work(factory) as s:  # and an import for that household is refused, not overflowed
        rows = HEADER + "1-0101,water,2026-11,1.00,2026-12-15,AFTER-1\n"
        with pytest.raises(ImportFileError) as err:
            imports.import_bills(s, mini.till.site_id, rows, actor="x")
        assert "a ledger account can hold" in imports.problems_of(err.value)[0][1]


def test_a_megabyte_field_is_one_bad_row_and_the_reason_is_short(factory, mini):
    big = "x" * 1_000_000
    problems = _refused(factory, mini, HEADER + "1-0101,water,2026-11,1.00,2026-12-15,OK-1\n"
                                                f"1-0101,water,2026-11,1.00,2026-12-15,{big}\n")
    assert list(problems) == [3] and len(problems[3]) < 200 and "characters" in problems[3]


def test_a_long_value_is_quoted_short_in_its_reason(factory, mini):
    problems = _refused(factory, mini, HEADER + f"{'9' * 5000},water,2026-11,1.00,2026-12-15,OK-1\n")
    assert "unknown unit" in problems[2] and len(problems[2]) < 200


@pytest.mark.parametrize("data, line, words", [
    (HEADER + "1-0101,water,2026-11,1.00,2026-12-15,\"OPEN\n", 2, "cannot be read as CSV"),
    ((HEADER + "1-0101,水费,2026-11,1.00,2026-12-01,X\n").encode("gbk"), 2, "not UTF-8"),
    (b"\xff\xfe" + HEADER.encode("utf-16-le"), 1, "not UTF-8"),
    (HEADER + "1-0101,water,２０２６-11,1.00,2026-12-15,W-1\n", 2, "period"),
    (HEADER + "1-0101,water,2026-11,1.00,20261215,W-1\n", 2, "due_date"),
    (HEADER + "1-0101,water,2026-11,1.00,2026-12-15\x00,W-1\n", 2, "due_date"),
    (("\ufeff\ufeff" + HEADER + "1-0101,water,2026-11,1.00,2026-12-15,W-1\n").encode(), 1, "missing column"),
])
def test_broken_files_are_refused_with_the_line(factory, mini, data, line, words):
    problems = _refused(factory, mini, data)
    assert line in problems and words in problems[line], problems


def test_a_notice_time_at_the_edge_of_the_calendar_is_a_bad_row(factory, mini):
    header = ("category,audience_tier,publish_at,expire_at,pinned,title_zh_hans,title_zh_hant,title_en,"
              "body_zh_hans,body_zh_hant,body_en\n")
    data = header + "maintenance,,0001-01-01T00:00+05:00,9999-12-31T23:00-05:00,no,a,b,c,d,e,f\n"
    with pytest.raises(ImportFileError) as err:
        with unit_of_work(factory) as s:
            imports.import_notices(s, mini.till.site_id, data, actor="staff:x")
    problems = dict(imports.problems_of(err.value))
    assert "publish_at" in problems[2]
    with unit_of_work(factory) as s:
        assert s.scalar(select(func.count()).select_from(Notice)) == 0
