"""Phase 3: printer check before money, staff card sign-in, receipts (view, reprint, void), bill import,
technician device setup."""
from __future__ import annotations

from pathlib import Path

from kiosk.flows.records import DeviceState
from kiosk.flows.tool_records import DeviceChoice


def _staff(nav, pin="2468", card=None) -> None:
    nav.go("staff_unlock")
    if card:
        nav.flow.card_tapped(card)
    for d in pin:
        nav.flow.key(d)
    nav.flow.submit()
    assert nav.route.name == "staff_home"


def _to_confirm(nav) -> None:
    nav.go("pay_fees")
    nav.flow.select_all(False)
    nav.flow.toggle(min(nav.flow.summary.bills, key=lambda b: b.amount_fen).bill_id)
    nav.flow.choose_method("card")
    nav.flow.next()


def test_printer_out_of_paper_is_said_before_paying_and_payment_can_go_on_without_paper(signed_in, fake):
    fake.paper = "out"
    _to_confirm(signed_in)
    view = signed_in.flow.view()
    assert view.step == "confirm" and view.confirm_caption == "无纸质收据，继续支付"
    assert view.notice.startswith("[ ! ] 小票打印机缺纸。\n") and "收据号" in view.notice
    assert fake.calls.index("printer_gate") < len(fake.calls) and "pay_bills" not in fake.calls
    signed_in.flow.confirm()
    done = signed_in.flow.view()
    assert done.step == "done" and done.receipt_number == "00000001"
    assert "打印机恢复" in done.notice
    assert fake.alerts == ["out"]


def test_back_from_the_printer_warning_cancels_without_money(signed_in, fake):
    fake.paper = "offline"
    _to_confirm(signed_in)
    signed_in.flow.back()
    assert signed_in.flow.view().step == "choose" and "pay_bills" not in fake.calls


def test_paper_near_end_pays_as_usual_and_alerts_staff(signed_in, fake):
    fake.paper = "near_end"
    _to_confirm(signed_in)
    view = signed_in.flow.view()
    assert view.confirm_caption == "确认支付" and view.notice == ""
    assert fake.alerts == ["near_end"]


def test_step_journeys_check_the_printer_before_their_confirm_step(signed_in, fake):
    fake.set_device("printer", DeviceState.DOWN, "offline")
    signed_in.go("top_up")
    signed_in.flow.choose("10000")
    signed_in.flow.choose("cash")
    view = signed_in.flow.view()
    assert view.step == "confirm" and view.primary == "无纸质收据，继续支付"
    assert "小票打印机无响应。" in view.message


def test_a_staff_card_tapped_on_the_pin_page_signs_in_with_card_and_pin(nav, fake):
    nav.go("staff_unlock")
    nav.flow.card_tapped("5A5A5A5A")
    assert nav.flow.view().prompt == "已读取员工卡，请输入密码"
    for d in "2468":
        nav.flow.key(d)
    nav.flow.submit()
    assert nav.route.name == "staff_home"


def test_staff_view_reprint_and_void_a_receipt_of_today(signed_in, fake):
    _to_confirm(signed_in)
    signed_in.flow.confirm()
    _staff(signed_in)
    signed_in.flow.open("staff_receipts")
    flow = signed_in.flow
    (option,) = flow.view().options
    assert option.key == "00000001" and option.label.startswith("00000001 · ")
    flow.choose("00000001")
    view = flow.view()
    assert view.image.endswith(".png") and Path(view.image).read_bytes()[:4] == b"\x89PNG"
    flow.choose("reprint")
    assert flow.view().message == "正在打印副本。" and fake.printed.count("00000001") == 2
    flow.choose("void")
    flow.choose("wrong_bill")
    assert dict(flow.view().lines)["原因"] == "缴错账单"
    flow.primary()
    view = flow.view()
    assert view.step == "done" and dict(view.lines)["作废单号"] == "00000002"
    assert fake.receipts["00000001"]["voided"]


def test_staff_find_a_receipt_by_its_eight_digit_number_on_the_keypad(signed_in, fake):
    _to_confirm(signed_in)
    signed_in.flow.confirm()
    _staff(signed_in)
    signed_in.go("staff_receipts")
    flow = signed_in.flow
    flow.primary()  # find by number
    assert flow.view().keypad
    for d in "1":
        flow.key(d)
    flow.primary()
    assert flow.view().step == "receipt" and flow.view().prompt == "收据 00000001" and flow.view().image
    flow.back()
    flow.back()
    flow.primary()
    for d in "99999999":
        flow.key(d)
    flow.key("9")  # a ninth digit is ignored
    assert flow.view().entry == "99999999"
    flow.primary()
    assert flow.view().error.code == "E3006"


def test_bill_import_from_a_usb_file_reports_count_or_bad_rows(nav, fake):
    _staff(nav)
    nav.flow.open("staff_import")
    flow = nav.flow
    keys = [o.key for o in flow.view().options]
    assert keys == ["/media/kiosk/USB/bad-bills.csv", "/media/kiosk/USB/bills-2026-11.csv"]
    flow.choose(keys[1])
    flow.primary()
    lines = dict(flow.view().lines)
    assert flow.view().step == "done" and lines["导入账单数"] == "3" and lines["合计"] == "¥456.00"
    flow.primary()
    nav.flow.open("staff_import")
    nav.flow.choose(keys[0])
    nav.flow.primary()
    view = nav.flow.view()
    assert view.step == "problems" and ("第 4 行", "unknown unit '9-9999'") in view.lines


def test_technician_changes_the_reader_port_tests_it_and_saves(nav, fake):
    _staff(nav, pin="1357")
    assert nav.flow.view().technician
    nav.flow.open("staff_devices")
    flow = nav.flow
    assert [o.key for o in flow.view().options] == ["reader", "printer", "cash", "scanner"]
    assert not flow.view().primary_enabled  # nothing changed yet
    flow.choose("reader")
    flow.choose("pn532")
    flow.choose("/dev/ttyS0")  # a port where nothing answers
    flow.choose("57600")
    flow.primary()
    view = flow.view()
    assert view.step == "result" and any("E6001" in v for _label, v in view.lines) and view.primary == "重新测试"
    flow.back()
    flow.back()
    flow.back()
    assert flow.view().step == "port"
    flow.choose("/dev/serial/by-id/usb-NXP_PN532-if00-port0")
    flow.choose("115200")
    flow.primary()
    assert dict(flow.view().lines)["卡号"] == "A1B2C3D4"
    flow.primary()  # use it
    assert flow.view().step == "devices" and flow.view().primary_enabled
    flow.primary()  # save
    assert flow.view().step == "saved"
    assert fake.saved_configs[-1][0].url == "/dev/serial/by-id/usb-NXP_PN532-if00-port0"
    assert fake.saved_configs[-1][0].baud == 115200


def test_technician_sets_up_the_scanner_tests_it_and_sees_the_code_masked(nav, fake):
    _staff(nav, pin="1357")
    nav.flow.open("staff_devices")
    flow = nav.flow
    flow.choose("scanner")
    assert [o.key for o in flow.view().options] == ["serial", "hid"]
    flow.choose("hid")
    flow.choose("/dev/ttyUSB1")
    assert flow.view().step == "test"  # a keyboard wedge has no speed to choose
    flow.back()
    flow.back()
    flow.choose("serial")
    flow.choose("/dev/ttyUSB1")
    assert flow.view().step == "speed"
    flow.choose("115200")
    view = flow.view()
    assert view.step == "test" and "扫描器" in view.prompt and "付款码" in view.prompt
    flow.primary()
    lines = dict(flow.view().lines)
    assert lines["付款码"] == "13**************89" and lines["支付方式"] == "微信支付"
    flow.primary()  # use it
    flow.primary()  # save
    assert flow.view().step == "saved"
    assert fake.saved_configs[-1] == (DeviceChoice("scanner", "serial", "/dev/ttyUSB1", 115200),)


def test_a_failed_scanner_test_is_said_in_the_kiosks_language(nav, fake):
    from kiosk.errors import NothingScanned
    from kiosk.flows.tool_records import DeviceTestResult

    fake.test_device = lambda staff_id, choice, timeout_s=10.0: DeviceTestResult(
        "scanner", False, (), "E6330", "Nothing was scanned within 10 s. ...", NothingScanned.message,
        (("seconds", "10"),), "")
    _staff(nav, pin="1357")
    nav.flow.open("staff_devices")
    flow = nav.flow
    flow.choose("scanner")
    flow.choose("serial")
    flow.choose("/dev/ttyUSB1")
    flow.choose("9600")
    flow.primary()
    (line,) = [v for _label, v in flow.view().lines if "E6330" in v]
    assert line == "[ ! ] E6330 10 秒内没有扫到付款码。请把付款码放在扫描器下，再测试一次。"


def test_device_setup_is_only_for_technicians(nav, fake):
    _staff(nav)
    assert not nav.flow.view().technician
    nav.flow.open("staff_devices")
    assert nav.flow.view().step == "denied" and "test_device" not in fake.calls
