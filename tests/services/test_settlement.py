"""Daily settlement: totals by kind and method equal the day's payments; receipt range, voids, credits, CSV, slip."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone

from zoneinfo import ZoneInfo

from sqlalchemy import select

from kiosk.domain.receipt import ReceiptKind
from kiosk.domain.terms import PaymentMethod
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Card, Payment, PaymentItem, Receipt
from kiosk.services import card_value, payments, settlement, voids
from tests.services.helpers import cash

TZ = "Asia/Shanghai"


def _today_local() -> date:
    return datetime.now(ZoneInfo(TZ)).date()


def _day(factory, mini):
    hh0, hh1 = mini.household_ids
    out_card = payments.pay_bills(factory, mini.till, key="s1", household_id=hh0, bill_ids=mini.bill_ids[hh0][:2],
                                  method=PaymentMethod.CARD, card_id=mini.card_ids[hh0], language="en")
    out_cash = payments.pay_bills(factory, mini.till, key="s2", household_id=hh1, bill_ids=mini.bill_ids[hh1][1:2],
                                  method=PaymentMethod.CASH, language="en",
                                  move_money=cash(factory, mini.till, 10_000, 5_000))  # 112.34 due, 150 in
    with unit_of_work(factory) as s:
        uid = s.get(Card, mini.card_ids[hh1]).uid_hex
    top = card_value.top_up(factory, mini.till, key="s3", card_uid=uid, amount_fen=5_000, method=PaymentMethod.CASH,
                            language="en", move_money=cash(factory, mini.till, 5_000))
    with unit_of_work(factory) as s:
        voids.void_receipt(s, mini.till, number=out_card.receipt_number, reason="double charge", actor="staff:x",
                           language="en")
    return out_card, out_cash, top


def test_totals_equal_the_days_payments_by_method_and_kind(factory, mini):
    _day(factory, mini)
    day = _today_local()
    with unit_of_work(factory) as s:
        report = settlement.daily_settlement(s, mini.till.site_id, day, TZ)
        start, end, _tz = settlement.day_bounds(day, TZ)
        paid = s.scalars(select(Payment).where(Payment.completed_at >= start, Payment.completed_at < end,
                                               Payment.status.in_(["succeeded", "voided"]))).all()
        expected_method: dict[str, int] = {}
        for p in paid:
            expected_method[p.method] = expected_method.get(p.method, 0) + p.amount_fen
        expected_kind: dict[str, int] = {}
        for item in s.scalars(select(PaymentItem).where(PaymentItem.payment_id.in_([p.id for p in paid]))):
            expected_kind[item.fee_kind] = expected_kind.get(item.fee_kind, 0) + item.amount_fen
    assert dict(report.by_method) == expected_method == {"card": 21_234, "cash": 11_234 + 5_000}
    assert dict(report.by_kind) == expected_kind == {"management": 10_000, "water": 11_234 + 11_234, "top_up": 5_000}
    assert report.payment_count == 3 and report.gross_fen == sum(expected_method.values())
    assert (report.first_receipt, report.last_receipt, report.receipt_count) == ("00000001", "00000004", 4)
    assert [(v.receipt_number, v.reason, v.amount_fen) for v in report.voids] == [("00000001", "double charge", 21_234)]
    assert report.net_fen == report.gross_fen - 21_234
    assert [c.credited_fen for c in report.credits] == [15_000 - 11_234]


def test_another_day_is_empty(factory, mini):
    _day(factory, mini)
    with unit_of_work(factory) as s:
        report = settlement.daily_settlement(s, mini.till.site_id, _today_local() - timedelta(days=1), TZ)
    assert report.payment_count == 0 and report.by_kind == () and report.first_receipt == ""


def test_day_bounds_follow_the_site_time_zone():
    start, end, _tz = settlement.day_bounds(date(2026, 11, 28), "Asia/Shanghai")
    assert start == datetime(2026, 11, 27, 16, 0, tzinfo=timezone.utc) and end - start == timedelta(days=1)


def test_csv_has_stable_columns_and_fen_and_yuan(factory, mini):
    _day(factory, mini)
    with unit_of_work(factory) as s:
        report = settlement.daily_settlement(s, mini.till.site_id, _today_local(), TZ)
    rows = list(csv.reader(io.StringIO(settlement.to_csv(report))))
    assert tuple(rows[0]) == settlement.CSV_COLUMNS
    items = [r for r in rows[1:] if r[0] == "item"]
    assert sum(int(r[9]) for r in items) == report.gross_fen
    assert all(r[10] == f"{int(r[9]) // 100}.{int(r[9]) % 100:02d}" for r in items)
    assert [r for r in rows if r[0] == "net"][0][9] == str(report.net_fen)


def test_slip_is_a_settlement_receipt_with_the_range(factory, mini):
    _day(factory, mini)
    with unit_of_work(factory) as s:
        report = settlement.daily_settlement(s, mini.till.site_id, _today_local(), TZ)
        number, doc = settlement.settlement_slip(s, mini.till, report, language="en", actor="staff:x")
    assert doc.kind is ReceiptKind.SETTLEMENT and number == "00000005"
    assert ("Receipt numbers", "00000001-00000004") in doc.fields and doc.total_fen == report.gross_fen
    with unit_of_work(factory) as s:
        assert s.scalars(select(Receipt.kind).where(Receipt.number == 5)).one() == "settlement"


def test_csv_void_amounts_stay_negative_numbers_and_no_cell_starts_a_formula(factory, mini):
    hh0 = mini.household_ids[0]
    out = payments.pay_bills(factory, mini.till, key="f1", household_id=hh0, bill_ids=mini.bill_ids[hh0][:1],
                             method=PaymentMethod.CARD, card_id=mini.card_ids[hh0], language="en")
    with unit_of_work(factory) as s:
        voids.void_receipt(s, mini.till, number=out.receipt_number, reason="=HYPERLINK(\"http://x\")", actor="staff:x",
                           language="en")
        report = settlement.daily_settlement(s, mini.till.site_id, _today_local(), TZ)
    rows = list(csv.reader(io.StringIO(settlement.to_csv(report))))
    [void] = [r for r in rows if r[0] == "void"]
    assert int(void[9]) == -out.amount_fen and void[10] == f"-{out.amount_fen // 100}.{out.amount_fen % 100:02d}"
    assert void[11].endswith('=HYPERLINK("http://x")')  # the reason is inside the note, which starts with "voids"
    text_columns = [i for i, name in enumerate(settlement.CSV_COLUMNS) if name not in ("amount_fen", "amount_yuan")]
    assert not [r for r in rows for i in text_columns if r[i].startswith(("=", "+", "-", "@", "\t", "\r"))]
