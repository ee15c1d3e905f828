"""Staff unlock (gesture + PIN, lock-out), maintenance actions, out of service and out of hours."""
from __future__ import annotations

from datetime import datetime

from kiosk import errors
from tests.support.fakes.data import MALL_HOURS
from tests.support.fakes.services import FakeKioskServices
from kiosk.flows.navigator import Navigator
from kiosk.flows.records import DeviceState, Feature
from kiosk.flows.runner import InlineRunner
from kiosk.flows.session import Session
from kiosk.flows.staff import GestureDetector, UnlockStep


def _type(flow, digits: str) -> None:
    for d in digits:
        flow.key(d)
    flow.submit()


def test_hidden_gesture_needs_the_corner_sequence_within_the_window():
    g = GestureDetector()
    assert not any(g.tap(c, t) for c, t in (("top_left", 0), ("top_right", 1), ("top_left", 2)))
    assert g.tap("top_right", 3)
    slow = GestureDetector()
    assert not any(slow.tap(c, t) for c, t in (("top_left", 0), ("top_right", 3), ("top_left", 6), ("top_right", 9)))


def test_staff_pin_opens_maintenance_and_shows_devices(nav):
    nav.go("staff_unlock")
    _type(nav.flow, "2468")
    assert nav.route.name == "staff_home" and nav.session.staff.name == "王芳"
    view = nav.flow.view()
    assert ("读卡器", "正常", "") in view.devices and view.service_line == "本机正常服务中"


def test_five_wrong_pins_lock_staff_sign_in(nav):
    nav.go("staff_unlock")
    for attempt in range(4):
        _type(nav.flow, "0000")
        assert nav.flow.view().error.code == errors.WrongPin.code
    _type(nav.flow, "0000")
    view = nav.flow.view()
    assert view.step is UnlockStep.LOCKED and view.error.code == errors.AccountLocked.code
    _type(nav.flow, "2468")  # even the right PIN cannot be typed while locked
    assert nav.route.name == "staff_unlock"


def test_staff_route_without_sign_in_goes_to_unlock(nav):
    nav.go("staff_home")
    assert nav.route.name == "staff_unlock"


def test_out_of_service_switch_sends_residents_to_the_out_of_service_page(nav, fake):
    nav.go("staff_unlock")
    _type(nav.flow, "2468")
    nav.flow.toggle_service()
    assert fake.out_of_service_reason == "Under maintenance" and nav.flow.view().out_of_service
    nav.flow.lock()
    assert nav.route.name == "out_of_service"
    assert nav.flow.view().reason == "系统维护中"
    assert ("S1", "out of service: Under maintenance") in fake.audit


def test_settlement_totals_by_kind_and_method(signed_in, fake):
    signed_in.go("pay_fees")
    pay = signed_in.flow
    pay.select_all(False)
    pay.toggle("B102")
    pay.choose_method("cash")
    pay.next()
    pay.confirm()
    signed_in.go("staff_unlock")
    _type(signed_in.flow, "2468")
    signed_in.flow.settlement()
    lines = dict(signed_in.flow.view().settlement_lines)
    assert lines["缴费收入"] == "¥42.80" and lines["按支付方式：现金"] == "¥42.80" and lines["合计"] == "¥42.80"


def test_feature_whose_device_is_down_says_so(nav, fake):
    fake.set_device("reader", DeviceState.DOWN, "unplugged")
    nav.go("attract")
    nav.flow.card_tapped("A1B2C3D4")
    home = nav.flow.view()
    top_up = next(a for a in home.actions if a.key == Feature.TOP_UP.value)
    assert not top_up.enabled


def test_out_of_hours_allows_only_what_the_site_enables():
    sunday_night = datetime(2026, 11, 1, 23, 15)
    fake = FakeKioskServices(now=sunday_night, hours=MALL_HOURS)
    nav = Navigator(fake, Session(), InlineRunner(), clock=lambda: sunday_night)
    nav.go("attract")
    view = nav.flow.view()
    assert view.hours_note and [e.key for e in view.entries if e.enabled] == ["notices", "directory"]
    nav.go("callback")
    assert nav.route.name == "out_of_hours"
    page = nav.flow.view()
    assert "星期六–星期日 09:30–22:30" in page.detail and ("notices", "公告通知") in page.still_available
    nav.go("notices")
    assert nav.route.name == "notices"


def test_unexpected_error_recovery_wipes_and_shows_reference(signed_in):
    signed_in.recover("AB12CD34")
    assert signed_in.session.identity is None and signed_in.route.name == "out_of_service"
    assert signed_in.flow.view().reference == "AB12CD34"


def test_device_going_down_at_runtime_switches_its_features_off(nav):
    nav.device_changed("reader", "unavailable", "unplugged")  # its worker reopens it: within the limit, still on
    nav.flow.card_tapped("A1B2C3D4")
    assert next(a for a in nav.flow.view().actions if a.key == Feature.TOP_UP.value).enabled
    nav.device_changed("reader", "out_of_service", "unplugged")  # down past devices.out_of_service_after_s
    top_up = next(a for a in nav.flow.view().actions if a.key == Feature.TOP_UP.value)
    assert not top_up.enabled
    nav.device_changed("reader", "available")
    assert next(a for a in nav.flow.view().actions if a.key == Feature.TOP_UP.value).enabled


def test_staff_device_page_shows_a_reopening_device_s_attempt_and_next_delay(nav, fake):
    from kiosk.flows.records import DeviceHealth

    fake.devices["printer"] = DeviceHealth("printer", DeviceState.DOWN, "no reply within 2.00 s", 7, 1.0)
    nav.go("staff_unlock")
    _type(nav.flow, "2468")
    view = nav.flow.view()
    assert ("小票打印机", "故障", "no reply within 2.00 s（正在重新连接：第 7 次，1.0 秒后）") in view.devices, view.devices
