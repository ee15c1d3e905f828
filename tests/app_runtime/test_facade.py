"""The real KioskServices on a seeded database (both backends), devices not attached."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from kiosk import settings as settings_mod
from kiosk.errors import BillAlreadyPaid, CardBlocked, DeviceUnavailable, NotFound, WrongPin
from kiosk.flows import records as r
from kiosk.flows.facade import KioskServices
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Bill, Card, Receipt


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
    assert summary.card_uid is None and len(summary.cards) == 2  # 1-0101: resident + smart card, none chosen yet
    summary = summary.acting_on(uid)  # the tapped card is the card the journey acts on
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
    newest = records.entries[0]
    assert newest.receipt_number == result.receipt_number and len(newest.items) == 2
    assert [(m.change_fen, m.balance_after_fen) for m in newest.card_moves] == [(-due, before - due)]
    detail = svc.record_detail(hh, newest.record_id, "zh_Hans")
    assert detail.method == "卡内余额" and detail.entry.card_moves[0].balance_before_fen == before
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


# --- staff tools, printer check, technician ------------------------------------------------------------
def _paid_receipt(rt, factory, key="k-tools"):
    uid, hh = _resident_card(factory)
    bill = rt.services.household_summary(hh).bills[0]
    return rt.services.pay_bills(hh, (bill.bill_id,), r.PaymentMethod.CARD_BALANCE, key, "zh_Hans", card_uid=uid)


def test_without_a_printer_the_gate_says_so_before_money(rt):
    gate = rt.services.printer_gate()
    assert not gate.can_print and gate.reason == "This kiosk has no receipt printer."


def test_staff_list_find_view_and_reprint_receipts_by_eight_digit_number(rt, factory):
    paid = _paid_receipt(rt, factory)
    assert len(paid.receipt_number) == 8 and paid.receipt_number.isdigit()
    who = rt.services.staff_sign_in("246810")
    today = rt.services.receipts_of_day(who.staff_id, rt.local_today())
    assert today[0].receipt_number == paid.receipt_number and today[0].amount_fen == paid.amount_fen
    assert today[0].method == "card" and today[0].unit_label == "1-0101"
    assert rt.services.find_receipt(who.staff_id, paid.receipt_number).kind == "bill_payment"
    png = rt.services.receipt_png(who.staff_id, paid.receipt_number)
    assert png.endswith(".png") and open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    rt.services.staff_reprint(who.staff_id, paid.receipt_number)
    with unit_of_work(factory) as s:
        assert s.scalars(select(Receipt).where(Receipt.number == int(paid.receipt_number))).one().reprint_count == 1
    with pytest.raises(NotFound):
        rt.services.find_receipt(who.staff_id, "99999999")


def test_bill_import_only_from_a_csv_on_a_removable_drive(rt, tmp_path):
    usb = tmp_path / "media" / "kiosk" / "OFFICE"
    usb.mkdir(parents=True)
    good = usb / "bills.csv"
    good.write_text("unit_no,kind,period,amount,due_date,external_ref\n"
                    "1-0101,water,2026-12,45.60,2026-12-31,EXT-1\n2-0102,gas,2026-12,12.00,2026-12-31,EXT-2\n")
    bad = usb / "bad.csv"
    bad.write_text("unit_no,kind,period,amount,due_date,external_ref\n9-9999,water,2026-12,1.00,2026-12-31,EXT-9\n")
    rt.services.usb_roots = (str(tmp_path / "media"),)
    who = rt.services.staff_sign_in("246810")
    files = rt.services.import_files(who.staff_id)
    assert [f.name for f in files] == ["bad.csv", "bills.csv"]
    outcome = rt.services.import_bills(who.staff_id, str(good))
    assert (outcome.count, outcome.total_fen, outcome.problems) == (2, 5760, ())
    refused = rt.services.import_bills(who.staff_id, str(bad))
    assert refused.count == 0 and refused.problems[0][0] == 2 and "9-9999" in refused.problems[0][1]
    again = rt.services.import_bills(who.staff_id, str(good))
    assert again.count == 0 and again.problems
    from kiosk.errors import PermissionDenied

    elsewhere = tmp_path / "elsewhere.csv"
    elsewhere.write_text(good.read_text())
    with pytest.raises(PermissionDenied):
        rt.services.import_bills(who.staff_id, str(elsewhere))


def test_staff_pin_unpin_and_withdraw_a_demo_notice_through_the_services(rt, factory):
    from kiosk.persistence.models import AuditEntry

    svc = rt.services
    who = svc.staff_sign_in("246810")
    now = datetime.now(timezone.utc)
    showing = [n for n in svc.list_notices(who.staff_id) if n.withdrawn_at is None and n.publish_at <= now
               and (n.expires_at is None or n.expires_at > now) and not n.tiers]
    target = next(n for n in showing if not n.pinned)
    svc.pin_notice(who.staff_id, target.notice_id, True)
    shown = svc.current_notices(None, "zh_Hans", now)
    flags = [n.pinned for n in shown]
    assert target.notice_id in [n.notice_id for n in shown if n.pinned] and flags == sorted(flags, reverse=True)
    svc.pin_notice(who.staff_id, target.notice_id, False)
    svc.withdraw_notice(who.staff_id, target.notice_id)
    later = datetime.now(timezone.utc)
    assert target.notice_id not in [n.notice_id for n in svc.current_notices(None, "zh_Hans", later)]
    listed = next(n for n in svc.list_notices(who.staff_id) if n.notice_id == target.notice_id)
    assert listed.withdrawn_at is not None and not listed.pinned
    with unit_of_work(factory) as s:
        actions = [(a.actor, a.action) for a in s.scalars(select(AuditEntry).where(
            AuditEntry.subject == target.notice_id, AuditEntry.action.like("notice.%")).order_by(AuditEntry.id))]
    assert actions[-3:] == [(f"staff:{who.name}", "notice.pinned"), (f"staff:{who.name}", "notice.unpinned"),
                            (f"staff:{who.name}", "notice.withdrawn")]


def test_only_technicians_test_devices_and_save_the_file(rt):
    from kiosk.errors import PermissionDenied
    from kiosk.flows.tool_records import DeviceChoice

    staff = rt.services.staff_sign_in("246810")
    with pytest.raises(PermissionDenied):
        rt.services.save_device_config(staff.staff_id, (DeviceChoice("reader", "pn532", "/dev/ttyUSB0", 115200),))
    tech = rt.services.staff_sign_in("135790")
    options = {o.current.device: o for o in rt.services.device_options()}
    assert set(options) == {"reader", "printer", "cash", "scanner"} and "pn532" in options["reader"].drivers
    assert "serial" in options["scanner"].drivers and 9600 in options["scanner"].speeds
    assert 115200 in options["reader"].speeds
    result = rt.services.test_device(tech.staff_id, DeviceChoice("reader", "pn532", "/nonexistent/tty", 115200),
                                     timeout_s=1)
    assert not result.ok and result.error_code.startswith("E6")
    assert all(p.device.startswith("/dev/") for p in rt.services.serial_ports())


def test_technician_file_is_saved_atomically_and_the_last_good_one_comes_back(tmp_path):
    from kiosk.app_runtime import technician_config as tc
    from kiosk.flows.tool_records import DeviceChoice

    data = tmp_path / "data"
    first = tc.save(data, (DeviceChoice("reader", "pn532", "/dev/ttyUSB0", 115200),))
    assert first.last_good_path == "" and tc.is_pending(data)
    tc.confirm_started(data)  # the first file started: proven
    assert not tc.is_pending(data)
    second = tc.save(data, (DeviceChoice("printer", "escpos", "socket://10.0.0.5:9100"),))
    assert second.last_good_path
    saved = tc.read(data)["devices"]
    assert saved["reader"] == {"driver": "pn532", "url": "/dev/ttyUSB0", "baud": 115200}  # kept
    assert saved["printer"]["url"] == "socket://10.0.0.5:9100"
    tc.save(data, (DeviceChoice("cash", "cctalk", "/dev/ttyUSB9"),))  # not started yet: last-good stays the proven one
    assert tc.restore_last_good(data)
    restored = tc.read(data)["devices"]
    assert "printer" not in restored and restored["reader"]["url"] == "/dev/ttyUSB0"
    assert not tc.restore_last_good(data)  # nothing pending any more
    assert not list(data.glob(".*.tmp"))
    settings_mod.load(data)  # the kiosk's settings loader reads the file


def test_a_first_technician_file_that_fails_is_removed(tmp_path):
    from kiosk.app_runtime import technician_config as tc
    from kiosk.flows.tool_records import DeviceChoice

    data = tmp_path / "data"
    tc.save(data, (DeviceChoice("reader", "nosuchdriver", "/dev/ttyUSB0", 115200),))
    assert tc.restore_last_good(data)
    assert not (data / "technician.toml").exists()


def test_devices_are_tested_for_real_on_the_simulators(rt, tmp_path):
    from devices.sim.mifare_card import VirtualMifareCard
    from kiosk.app_runtime.demo import DemoSimulators
    from kiosk.flows.tool_records import DeviceChoice

    sims = DemoSimulators(tmp_path / "sims", "secret").start()
    try:
        tech = rt.services.staff_sign_in("135790")
        sims.reader.present(VirtualMifareCard(bytes.fromhex("0A0B0C0D")))
        reader = rt.services.test_device(tech.staff_id, DeviceChoice("reader", "pn532", sims.urls["reader"], 115200), 3)
        assert reader.ok, reader.error_text
        lines = dict(reader.lines)
        assert lines["Card UID"] == "0A0B0C0D" and lines["Firmware"]
        printer = rt.services.test_device(tech.staff_id, DeviceChoice("printer", "escpos", sims.urls["printer"]), 5)
        assert printer.ok, printer.error_text
        printed = list((tmp_path / "sims" / "printer-sim").glob("*.json"))
        assert printed and any("Test print" in p.read_text(encoding="utf-8") for p in printed)
        cash = rt.services.test_device(tech.staff_id, DeviceChoice("cash", "cctalk", sims.urls["cash"]), 5)
        assert cash.ok, cash.error_text
        assert "¥100" in dict(cash.lines)["Notes accepted"]
    finally:
        sims.stop()


def test_the_scanner_is_tested_for_real_a_code_shown_masked_a_garbled_one_and_silence_each_said(rt, tmp_path):
    import threading

    from devices.sim.scanner_sim import SimScanner
    from kiosk.errors import ScanUnreadable
    from kiosk.flows.tool_records import DeviceChoice

    sim = SimScanner()
    port = sim.start()
    try:
        tech = rt.services.staff_sign_in("135790")
        choice = DeviceChoice("scanner", "serial", port, 9600)

        def scan_soon(command: str) -> None:
            threading.Timer(0.4, lambda: sim.execute(command)).start()  # the technician holds a code up

        scan_soon("scan 134512345678901289")
        good = rt.services.test_device(tech.staff_id, choice, 5)
        assert good.ok, good.error_text
        assert dict(good.lines) == {"Payment code": "13**************89", "Network": "WeChat Pay"}
        scan_soon("garbled")
        garbled = rt.services.test_device(tech.staff_id, choice, 5)
        assert not garbled.ok and garbled.error_code == "E6300"
        assert garbled.error_text.startswith("The payment code could not be read.")
        assert garbled.error_message == ScanUnreadable.message  # the screen says it in its own language
        silent = rt.services.test_device(tech.staff_id, choice, 1)
        assert not silent.ok and silent.error_code == "E6330" and "within 1 s" in silent.error_text
        assert silent.error_params == (("seconds", "1"),)
        gone = rt.services.test_device(tech.staff_id, DeviceChoice("scanner", "serial", "/nonexistent/tty", 9600), 1)
        assert not gone.ok and gone.error_code.startswith("E6")
    finally:
        sim.stop()


def test_the_scanner_choice_is_saved_as_kind_port_and_speed(tmp_path):
    from kiosk.app_runtime import technician_config as tc
    from kiosk.flows.tool_records import DeviceChoice

    data = tmp_path / "data"
    tc.save(data, (DeviceChoice("scanner", "serial", "/dev/serial/by-id/usb-scanner-if00", 115200),))
    assert tc.read(data)["devices"]["scanner"] == {"kind": "serial", "port": "/dev/serial/by-id/usb-scanner-if00",
                                                   "baud": 115200}
    scanner = settings_mod.load(data).devices.scanner  # the kiosk's settings loader reads it
    assert (scanner.kind, scanner.port, scanner.baud) == ("serial", "/dev/serial/by-id/usb-scanner-if00", 115200)


def test_a_start_that_fails_with_a_new_file_falls_back_to_the_last_good_one(tmp_path):
    from kiosk.app_runtime import technician_config as tc
    from kiosk.errors import DriverNotFound
    from kiosk.flows.tool_records import DeviceChoice

    data = tmp_path / "data"
    tc.save(data, (DeviceChoice("reader", "pn532", "/dev/ttyUSB0", 115200),))
    tc.confirm_started(data)
    tc.save(data, (DeviceChoice("reader", "nosuchdriver", "/dev/ttyUSB0", 115200),))
    stopped = []

    def start():
        driver = tc.read(data)["devices"]["reader"]["driver"]
        if driver != "pn532":
            raise DriverNotFound(driver=driver, key="devices.reader.driver")
        return driver

    assert tc.start_with_fallback(data, start, lambda _rt: True, stopped.append) == "pn532"
    assert not tc.is_pending(data) and stopped == []
    tc.save(data, (DeviceChoice("reader", "pn532", "/dev/ttyUSB7", 115200),))  # starts, but the port is dead
    rt = tc.start_with_fallback(data, lambda: tc.read(data)["devices"]["reader"]["url"],
                                lambda url: url != "/dev/ttyUSB7", stopped.append)
    assert rt == "/dev/ttyUSB0" and stopped == ["/dev/ttyUSB7"]
    def broken():
        raise DriverNotFound(driver="x", key="devices.reader.driver")

    with pytest.raises(DriverNotFound):  # a proven configuration that fails is not "restored" away
        tc.start_with_fallback(data, broken, lambda _rt: True, stopped.append)
    assert tc.read(data)["devices"]["reader"]["url"] == "/dev/ttyUSB0"


def test_summary_carries_every_card_of_the_household_with_kind_state_balance_and_plate(rt, factory):
    from kiosk.demo.estate import demo_plate
    from kiosk.persistence.models import Household
    from kiosk.services import cards as card_service

    with unit_of_work(factory) as s:  # 1-0402 is the demo's household with a resident, a smart and a vehicle card
        hh = s.scalars(select(Household).where(Household.unit_no == "1-0402")).one()
        rows = s.scalars(select(Card).where(Card.household_id == hh.id).order_by(Card.id)).all()
        expected = [(c.uid_hex, c.kind, card_service.card_balance(s, c.id)) for c in rows]
        rows[1].status = "lost"
    summary = rt.services.household_summary(str(hh.id))
    assert [(c.card_uid, c.kind, c.balance_fen) for c in summary.cards] == expected
    assert [c.kind for c in summary.cards] == [r.CardKind.RESIDENT, r.CardKind.SMART, r.CardKind.VEHICLE]
    assert [c.status for c in summary.cards] == [r.CardStatus.ACTIVE, r.CardStatus.LOST, r.CardStatus.ACTIVE]
    assert summary.cards[2].plate == demo_plate(9) and summary.cards[0].plate == ""
    chosen = summary.acting_on(summary.cards[2].card_uid)
    assert (chosen.card_uid, chosen.card_balance_fen, chosen.card_status) == (expected[2][0], expected[2][2],
                                                                              r.CardStatus.ACTIVE)


def test_resident_freeze_tap_and_pin_unblock_and_staff_card_states_through_the_facade(rt, factory):
    import json

    from kiosk.errors import CardFrozen, CardReplaced
    from kiosk.persistence.models import AuditEntry

    svc = rt.services
    uid, hh = _resident_card(factory, "1-0402")  # resident, smart and vehicle cards
    frozen = svc.freeze_card(hh, uid, "zh_Hans")
    assert frozen.status is r.CardStatus.FROZEN
    with pytest.raises(CardFrozen):
        svc.identify_card(uid)
    with pytest.raises(WrongPin):
        svc.unblock_found_card(uid, "000000", "zh_Hans")
    unblocked = svc.unblock_found_card(uid, "123456", "zh_Hans")  # the demo households' PIN
    assert unblocked.identity.household_id == hh and unblocked.identity.card_uid == uid
    assert unblocked.action.status is r.CardStatus.ACTIVE and unblocked.action.receipt_number
    who = svc.staff_sign_in("246810")
    found = svc.staff_household_cards(who.staff_id, unit="1-0402")
    assert found.unit == "1-0402" and [c.kind for c in found.cards] == [r.CardKind.RESIDENT, r.CardKind.SMART,
                                                                        r.CardKind.VEHICLE]
    assert svc.staff_household_cards(who.staff_id, card_uid=uid).cards == found.cards
    svc.report_card_lost(hh, uid, "zh_Hans")
    lifted = svc.staff_change_card(who.staff_id, uid, "lift_loss", "持卡人已找回卡片", "zh_Hans")
    assert lifted.status is r.CardStatus.ACTIVE and lifted.receipt_number
    with unit_of_work(factory) as s:
        row = s.scalars(select(AuditEntry).where(AuditEntry.action == "card.loss_lifted")).one()
        assert row.actor == f"staff:{who.name}" and json.loads(row.details)["reason"] == "持卡人已找回卡片"
        s.scalars(select(Card).where(Card.uid_hex == uid)).one().status = "replaced"
    with pytest.raises(CardReplaced):
        svc.staff_change_card(who.staff_id, uid, "unfreeze", "x", "zh_Hans")
