"""The real KioskServices on a seeded database (both backends), devices not attached."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from kiosk import bootstrap, settings as settings_mod
from kiosk.app_runtime.devices import AttachedDevices
from kiosk.app_runtime.runtime import KioskRuntime
from kiosk.demo import estate
from kiosk.errors import BillAlreadyPaid, CardBlocked, DeviceUnavailable, NotFound, WrongPin
from kiosk.flows import records as r
from kiosk.flows.facade import KioskServices
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Bill, Card, Receipt


@pytest.fixture
def rt(engine, factory, db_url, tmp_path):
    s = settings_mod.load(tmp_path / "data", db_url=db_url)
    db = bootstrap.Database(engine, factory, db_url)
    till = bootstrap.ensure_till(db, s)
    with unit_of_work(factory) as session:
        estate.seed(session, till, households=12)
    runtime = KioskRuntime(s, db, till, AttachedDevices(None, None, None, None))
    yield runtime
    for sup in runtime.supervisors.values():
        sup.stop()


def _resident_card(factory, unit="1-0101"):
    with unit_of_work(factory) as s:
        from kiosk.persistence.models import Household

        hh = s.scalars(select(Household).where(Household.unit_no == unit)).one()
        card = s.scalars(select(Card).where(Card.household_id == hh.id, Card.kind == "resident")).one()
        return card.uid_hex, str(hh.id)


def test_it_implements_the_flows_contract(rt):
    assert isinstance(rt.services, KioskServices)


def test_tap_then_pay_all_bills_from_card_balance(rt, factory):
    svc = rt.services
    uid, hh = _resident_card(factory)
    who = svc.identify_card(uid)
    assert who.household_id == hh and who.unit_label.startswith("1-")
    summary = svc.household_summary(hh)
    assert summary.bills and summary.card_uid == uid
    bills = tuple(b.bill_id for b in summary.bills[:2])
    due = sum(b.amount_fen for b in summary.bills[:2])
    before = summary.card_balance_fen
    if before < due:
        pytest.skip("demo card too low for this household")
    result = svc.pay_bills(hh, bills, r.PaymentMethod.CARD_BALANCE, "key-1", "zh_Hans", card_uid=uid)
    assert result.amount_fen == due and result.balance_after_fen == before - due
    again = svc.pay_bills(hh, bills, r.PaymentMethod.CARD_BALANCE, "key-1", "zh_Hans", card_uid=uid)
    assert again.receipt_number == result.receipt_number
    with pytest.raises(BillAlreadyPaid):
        svc.pay_bills(hh, bills[:1], r.PaymentMethod.CARD_BALANCE, "key-2", "zh_Hans", card_uid=uid)
    records = svc.my_records(hh, "zh_Hans")
    assert records[0].receipt_number == result.receipt_number
    svc.reprint(result.receipt_number, hh)
    with unit_of_work(factory) as s:
        row = s.scalars(select(Receipt).where(Receipt.number == int(result.receipt_number))).one()
        assert row.reprint_count == 1


def test_cash_without_an_acceptor_is_refused_before_any_money(rt, factory):
    uid, hh = _resident_card(factory)
    bill = rt.services.household_summary(hh).bills[0].bill_id
    with pytest.raises(DeviceUnavailable):
        rt.services.pay_bills(hh, (bill,), r.PaymentMethod.CASH, "cash-1", "en")
    with unit_of_work(factory) as s:
        assert s.get(Bill, int(bill)).status == "open"


def test_lost_card_is_refused_at_the_next_tap(rt, factory):
    uid, hh = _resident_card(factory)
    rt.services.report_card_lost(hh, uid, "zh_Hans")
    with pytest.raises(CardBlocked):
        rt.services.identify_card(uid)


def test_public_information_and_notices(rt):
    svc = rt.services
    now = datetime.now(timezone.utc)
    assert svc.site_info().name("en") == "Heyue Garden"
    shown = svc.current_notices(None, "en", now)
    assert shown and shown[0].pinned
    gold = svc.current_notices("gold", "en", now)
    assert len(gold) > len(shown)
    phones = [d.phone for d in svc.directory("zh_Hans")]
    assert phones and not any("6900" in p or "6901" in p for p in phones)  # staff-only numbers never shown
    assert svc.request_callback("13912345678", "fees", "zh_Hans")


def test_unit_and_pin_sign_in(rt):
    assert rt.services.identify_unit("1-0101", "123456").household_id
    with pytest.raises(WrongPin):
        rt.services.identify_unit("1-0101", "000000")
    with pytest.raises(NotFound):
        rt.services.identify_unit("9-9999", "123456")


def test_staff_unlock_settlement_void_and_out_of_service(rt, factory):
    svc = rt.services
    uid, hh = _resident_card(factory)
    bill = svc.household_summary(hh).bills[0]
    paid = svc.pay_bills(hh, (bill.bill_id,), r.PaymentMethod.CARD_BALANCE, "k-void", "zh_Hans", card_uid=uid)
    who = svc.staff_sign_in("246810")
    assert who.role is r.StaffRole.STAFF
    report = svc.settlement(who.staff_id, rt.local_today())
    assert dict(report.totals_by_method).get("card", 0) >= bill.amount_fen
    voided = svc.void_receipt(who.staff_id, paid.receipt_number, "wrong bill")
    assert voided.receipt_number == paid.receipt_number and voided.void_receipt_number
    svc.set_out_of_service(who.staff_id, "printer repair")
    assert svc.service_status().out_of_service and svc.service_status().reason == "printer repair"
    svc.set_out_of_service(who.staff_id, None)
    assert not svc.service_status().out_of_service
    health = {d.device: d.state for d in svc.device_health()}
    assert health["printer"] is r.DeviceState.DOWN
