"""Settlement and handover show account credit created (overpayments, refunds, voids to credit) and used
(alone, or with card balance / cash / QR), per method; the ledger stays balanced."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

from kiosk.domain.terms import AccountKind, BookingKind, PaymentMethod
from kiosk.persistence.db import unit_of_work
from kiosk.services import bookings, card_value, cards, ledger, payments, settlement, staff
from tests.services.helpers import cash

TZ = "Asia/Shanghai"


def _today() -> date:
    return datetime.now(ZoneInfo(TZ)).date()


def _a_day_with_credit(factory, mini) -> None:
    """Household 0: 300.00 in notes for a 100.00 bill (200.00 credit); then 112.34 from credit alone, 124.68
    with 50.00 of credit and the rest from the card, a 20.00 booking paid from credit and cancelled (20.00 back
    as credit), and the 37.66 left moved onto the card."""
    hh = mini.household_ids[0]
    bills = mini.bill_ids[hh]
    payments.pay_bills(factory, mini.till, key="d1", household_id=hh, bill_ids=bills[:1], method=PaymentMethod.CASH,
                       language="en", move_money=cash(factory, mini.till, 10_000, 20_000))
    payments.pay_bills(factory, mini.till, key="d2", household_id=hh, bill_ids=bills[1:2],
                       method=PaymentMethod.CREDIT, language="en")
    payments.pay_bills(factory, mini.till, key="d3", household_id=hh, bill_ids=bills[2:3], method=PaymentMethod.CARD,
                       card_id=mini.card_ids[hh], language="en", credit_fen=5_000)
    booked = bookings.book(factory, mini.till, key="d4", household_id=hh, kind=BookingKind.GAS,
                           slot_date=date(2099, 1, 5), period="am", method=PaymentMethod.CREDIT, language="en",
                           fees={BookingKind.GAS: 2_000}, capacity=2, today=_today())
    with unit_of_work(factory) as s:
        bookings.cancel_booking(s, mini.till, booking_id=booked.booking_id, household_id=hh, actor="kiosk:K01",
                                today=_today())
        uid = cards.get_card(s, mini.card_ids[hh]).uid_hex
    left = 20_000 - 11_234 - 5_000
    card_value.top_up(factory, mini.till, key="d5", card_uid=uid, amount_fen=left, method=PaymentMethod.CREDIT,
                      language="en")


def test_settlement_counts_credit_created_and_used_per_method(factory, mini):
    _a_day_with_credit(factory, mini)
    with unit_of_work(factory) as s:
        report = settlement.daily_settlement(s, mini.till.site_id, _today(), TZ)
        assert ledger.unbalanced_entries(s) == []
    left = 20_000 - 11_234 - 5_000
    assert dict(report.credit.created) == {"cash": 20_000, "refund": 2_000}
    assert dict(report.credit.used) == {"credit": 11_234 + 2_000 + left, "card": 5_000}
    assert report.credit.moved_to_card_fen == left
    # each tender counted under its own method: the split's credit part under credit, its rest under card
    methods = dict(report.by_method)
    assert methods["credit"] == 11_234 + 5_000 + 2_000 + left and methods["card"] == 12_468 - 5_000
    assert methods["cash"] == 10_000 and sum(methods.values()) == report.gross_fen
    rows = list(csv.DictReader(io.StringIO(settlement.to_csv(report))))
    assert [(r["method"], r["amount_fen"]) for r in rows if r["record"] == "total_credit_used"] == [
        ("credit", str(11_234 + 2_000 + left)), ("card", "5000")]
    assert [(r["method"], r["amount_fen"]) for r in rows if r["record"] == "total_credit_created"] == [
        ("cash", "20000"), ("refund", "2000")]
    assert [r["amount_fen"] for r in rows if r["record"] == "credit_used" and r["method"] == "card"] == ["5000"]


def test_settlement_slip_prints_the_credit_lines(factory, mini):
    _a_day_with_credit(factory, mini)
    with unit_of_work(factory) as s:
        report = settlement.daily_settlement(s, mini.till.site_id, _today(), TZ)
        _number, doc = settlement.settlement_slip(s, mini.till, report, language="zh_Hans", actor="staff:x")
    fields = dict(doc.fields)
    assert fields["余额转入：现金多付"] == "200.00" and fields["余额转入：退款"] == "20.00"
    assert fields["账户余额转入合计"] == "220.00"
    assert fields["余额抵扣：配合卡内余额"] == "50.00" and fields["账户余额抵扣合计"] == "220.00"
    assert fields["账户余额充入卡内"] == "37.66"


def test_handover_slip_shows_the_shifts_credit(factory, mini):
    with unit_of_work(factory) as s:
        user = staff.add_staff(s, name="wang", role="staff", pin="246810", actor="admin")
        staff.open_shift(s, mini.till, staff_id=user.staff_id)
    _a_day_with_credit(factory, mini)
    with unit_of_work(factory) as s:
        view = staff.close_shift(s, mini.till, staff_id=user.staff_id, counted_cash_fen=30_000, language="en")
    assert view.credit.created_fen == 22_000 and view.credit.used_fen == 22_000
    fields = dict(view.document.fields)
    assert fields["Account credit created"] == "220.00" and fields["Credit used with card balance"] == "50.00"


def test_void_of_a_split_card_payment_gives_each_part_back_where_it_came_from(factory, mini):
    from kiosk.services import voids

    hh = mini.household_ids[0]
    payments.pay_bills(factory, mini.till, key="v0", household_id=hh, bill_ids=mini.bill_ids[hh][:1],
                       method=PaymentMethod.CASH, language="en", move_money=cash(factory, mini.till, 10_000, 20_000))
    paid = payments.pay_bills(factory, mini.till, key="v1", household_id=hh, bill_ids=mini.bill_ids[hh][1:2],
                              method=PaymentMethod.CARD, card_id=mini.card_ids[hh], language="en", credit_fen=5_000)
    with unit_of_work(factory) as s:
        res = voids.void_receipt(s, mini.till, number=int(paid.receipt_number), reason="wrong bill", actor="staff:x",
                                 language="en")
        assert cards.card_balance(s, mini.card_ids[hh]) == 50_000
        credit = ledger.liability_balance(s, ledger.account(s, AccountKind.CREDIT, household_id=hh))
        assert credit == 20_000 and ledger.unbalanced_entries(s) == []
        report = settlement.daily_settlement(s, mini.till.site_id, _today(), TZ)
    assert "Returned to your account credit." in res.document.notes
    assert dict(res.document.fields)["Paid from account credit"] == "50.00"
    assert dict(report.credit.created) == {"cash": 20_000, "void": 5_000}
