"""Imported text that starts like a spreadsheet formula is stored exactly as given; the CSV writer escapes it."""
from __future__ import annotations

import csv
import io

from sqlalchemy import select

from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Bill, Notice
from kiosk.services import imports
from kiosk.services.csv_export import csv_text

FORMULA_REF = "=cmd|' /C calc'!A0"
FORMULA_TITLE = "@SUM(1+1)*cmd|' /C calc'!A0"


def test_formula_like_import_text_is_stored_as_given_and_written_out_escaped(factory, mini):
    bills = ("unit_no,kind,period,amount,due_date,external_ref\n"
             f"1-0101,water,2026-11,12.00,2026-12-15,\"{FORMULA_REF}\"\n")
    notices = ("category,audience_tier,publish_at,expire_at,pinned,title_zh_hans,title_zh_hant,title_en,"
               "body_zh_hans,body_zh_hant,body_en\n"
               f"general,,2026-12-01 09:00,2026-12-08 18:00,no,\"{FORMULA_TITLE}\",-1,+1,=1,=2,=3\n")
    with unit_of_work(factory) as s:
        imports.import_bills(s, mini.till.site_id, bills, actor="staff:x")
        imports.import_notices(s, mini.till.site_id, notices, actor="staff:x")
    with unit_of_work(factory) as s:
        ref = s.scalars(select(Bill.external_ref).where(Bill.external_ref == FORMULA_REF)).one()
        notice = s.scalars(select(Notice)).one()
        stored = (ref, notice.title_zh_hans, notice.title_zh_hant, notice.title_en)
    assert stored == (FORMULA_REF, FORMULA_TITLE, "-1", "+1")  # stored as given
    [_, row] = list(csv.reader(io.StringIO(csv_text(["ref", "t1", "t2", "t3"], [stored]))))
    assert row == ["'" + FORMULA_REF, "'" + FORMULA_TITLE, "'-1", "'+1"]
