"""CSV imports: all-or-nothing, every bad row reported by line and reason; bills posted as BILL_ISSUED."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from kiosk.domain.terms import AccountKind, EntryKind
from kiosk.errors import ImportFileError
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Bill, JournalEntry, Notice
from kiosk.services import imports, ledger, notices

HEADER = "unit_no,kind,period,amount,due_date,external_ref\n"


def _import_bills(factory, mini, data):
    with unit_of_work(factory) as s:
        return imports.import_bills(s, mini.till.site_id, data, actor="staff:王芳")


def _counts(factory):
    with unit_of_work(factory) as s:
        return (s.scalar(select(func.count()).select_from(Bill)),
                s.scalar(select(func.count()).select_from(JournalEntry)))


def test_good_bill_file_with_bom_is_imported_and_posted_to_the_ledger(factory, mini):
    data = ("\ufeff" + HEADER + "1-0101,water,2026-11,123.45,2026-12-15,OFF-1\n"
            "1-0201,management,2026-11,\"1,200.00\",2026-12-15,OFF-2\n").encode("utf-8")
    result = _import_bills(factory, mini, data)
    assert (result.count, result.total_fen) == (2, 12_345 + 120_000)
    with unit_of_work(factory) as s:
        bill = s.scalars(select(Bill).where(Bill.external_ref == "OFF-1")).one()
        assert bill.amount_fen == 12_345 and bill.household_id == mini.household_ids[0] and bill.status == "open"
        receivable = ledger.account(s, AccountKind.RECEIVABLE, household_id=mini.household_ids[1])
        assert ledger.balance(s, receivable) == 10_000 + 11_234 + 12_468 + 120_000
        assert s.scalars(select(JournalEntry.memo).where(JournalEntry.kind == str(EntryKind.BILL_ISSUED))
                         .order_by(JournalEntry.id.desc())).first() == "bill OFF-2"


def test_file_with_bad_rows_imports_nothing_and_names_every_bad_row(factory, mini):
    before = _counts(factory)
    data = (HEADER +
            "1-0101,water,2026-11,123.45,2026-12-15,OK-1\n"  # line 2: fine
            "9-9999,water,2026-11,10.00,2026-12-15,BAD-1\n"  # 3: unknown unit
            "1-0101,wine,2026-13,12.345,2026-02-30,BAD-2\n"  # 4: four problems
            "1-0101,gas,2026-11,-5,2026-12-15,BAD-3\n"  # 5: negative
            "1-0101,gas,2026-11,5.00,2026-12-15,OK-1\n"  # 6: duplicate in the file
            "1-0101,gas,2026-11,5.00,2026-12-15,T-1-0\n"  # 7: already imported (the mini estate's bill)
            "1-0101,gas\n")  # 8: short row
    with pytest.raises(ImportFileError) as err:
        _import_bills(factory, mini, data)
    problems = dict(imports.problems_of(err.value))
    assert sorted(problems) == [3, 4, 5, 6, 8] and err.value.params["count"] == 5
    assert "unknown unit" in problems[3] and "appears twice" in problems[6] and "expected 6 fields" in problems[8]
    assert all(word in problems[4] for word in ("wine", "YYYY-MM", "123.45", "due_date"))
    assert _counts(factory) == before
    # the duplicate of an already imported bill is reported once the rest is clean
    with pytest.raises(ImportFileError) as err2:
        _import_bills(factory, mini, HEADER + "1-0101,gas,2026-11,5.00,2026-12-15,T-1-0\n")
    assert imports.problems_of(err2.value) == ((2, "external_ref 'T-1-0' was already imported"),)


def test_missing_column_and_non_utf8_files_are_refused(factory, mini):
    with pytest.raises(ImportFileError) as err:
        _import_bills(factory, mini, "unit_no,kind,period,amount\n1-0101,water,2026-11,1.00\n")
    assert "due_date" in imports.problems_of(err.value)[0][1]
    with pytest.raises(ImportFileError):
        _import_bills(factory, mini, (HEADER + "1-0101,水费,2026-11,1.00,2026-12-01,X\n").encode("gbk"))


NOTICE_HEADER = ("category,audience_tier,publish_at,expire_at,pinned,title_zh_hans,title_zh_hant,title_en,"
                 "body_zh_hans,body_zh_hant,body_en\n")


def test_notice_file_is_imported_with_local_times(factory, mini):
    data = NOTICE_HEADER + ("maintenance,,2026-12-01 09:00,2026-12-08 18:00,yes,停水通知,停水通知,Water cut,"
                            "12月2日停水,12月2日停水,No water on 2 Dec\n"
                            "member,gold,2026-12-01T00:00+00:00,2026-12-31T00:00+00:00,no,金卡活动,金卡活動,Gold day,"
                            "内容,內容,Details\n")
    with unit_of_work(factory) as s:
        assert imports.import_notices(s, mini.till.site_id, data, actor="staff:x").count == 2
    with unit_of_work(factory) as s:
        first = s.scalars(select(Notice).order_by(Notice.id)).first()
        assert first.publish_at == datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc) and first.pinned
        now = datetime(2026, 12, 3, tzinfo=timezone.utc)
        assert [n.title for n in notices.current_notices(s, mini.till.site_id, "gold", "en", now)] == \
            ["Water cut", "Gold day"]


def test_notice_file_with_bad_rows_imports_nothing(factory, mini):
    data = NOTICE_HEADER + ("maintenance,,2026-12-01 09:00,2026-12-08 18:00,yes,a,b,c,d,e,f\n"
                            "gossip,platinum,2026-12-09,2026-12-01,maybe,,b,c,d,e,f\n"
                            "general,,yesterday,2026-12-01,no,a,b,c,d,e,f\n")
    with pytest.raises(ImportFileError) as err:
        with unit_of_work(factory) as s:
            imports.import_notices(s, mini.till.site_id, data, actor="staff:x")
    problems = dict(imports.problems_of(err.value))
    assert sorted(problems) == [3, 4] and "pinned" in problems[3] and "publish_at" in problems[4]
    with unit_of_work(factory) as s:
        assert s.scalar(select(func.count()).select_from(Notice)) == 0
