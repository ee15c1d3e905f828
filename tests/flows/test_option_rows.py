"""Option rows carry an icon, a main line, a detail line, a figure and the reason when disabled: booking slots
(weekday, date, half-day, places left, fee), parking, banks, payment methods and cards (Kivy-free)."""
from __future__ import annotations

from kiosk.flows.steps import Option
from screens.icons import codepoints
from tests.support.fakes.data import DEMO_SLOT_PLACES


def test_booking_kinds_show_an_icon_and_the_fee_large(signed_in):
    signed_in.go("bookings")
    options = signed_in.flow.view().options
    broadband = next(o for o in options if o.key == "broadband")
    assert (broadband.label, broadband.value, broadband.icon) == ("宽带安装", "¥50.00", "router-wireless")
    assert broadband.detail == "上门服务半天，现在缴费"


def test_a_slot_row_says_weekday_date_half_day_places_left_and_fee(signed_in):
    signed_in.go("bookings")
    flow = signed_in.flow
    flow.choose("broadband")
    first, second, *_ = flow.view().options
    assert first.label == "周二 11月3日 上午" and second.label == "周二 11月3日 下午"  # tomorrow, a Tuesday
    assert first.detail == f"09:00–12:00 · 剩余 {DEMO_SLOT_PLACES[0]} 个名额 · 宽带安装"
    assert first.value == "¥50.00"
    assert first.icon == "calendar-clock" and first.enabled and not first.reason


def test_a_full_slot_is_disabled_with_its_reason(signed_in, fake):
    signed_in.go("bookings")
    flow = signed_in.flow
    flow.choose("tv")
    full = flow.view().options[DEMO_SLOT_PLACES.index(0)]
    assert not full.enabled and full.reason == "已约满" and "名额" not in full.detail
    flow.choose(full.key)  # a tap on a full slot does nothing
    assert flow.view().step == "slot"


def test_a_slot_taken_by_the_last_booking_turns_full(signed_in, fake):
    signed_in.go("bookings")
    flow = signed_in.flow
    flow.choose("tv")
    key = flow.view().options[0].key
    fake.booked_slots[key] = "T-other"
    flow.back()
    flow.choose("tv")
    row = flow.view().options[0]
    assert row.key == key and not row.enabled and row.reason == "已约满"


def test_the_slot_chosen_is_restated_with_its_day_on_confirm(signed_in):
    signed_in.go("bookings")
    flow = signed_in.flow
    flow.choose("gas")
    flow.choose(flow.view().options[0].key)
    flow.choose("cash")
    assert dict(flow.view().lines)["时段"] == "周二 11月3日 上午 09:00–12:00"


def test_slots_speak_english(signed_in):
    signed_in.session.set_language("en")
    signed_in.go("bookings")
    flow = signed_in.flow
    flow.choose("broadband")
    first = flow.view().options[0]
    assert first.label == "Tue 3 Nov Morning" and "places left" in first.detail and first.value == "¥50.00"


def test_parking_rows_name_the_space_state_and_rent(signed_in):
    signed_in.go("parking")
    flow = signed_in.flow
    mine, apply = flow.view().options
    assert mine.label == "B1-012 · 缴车位费" and mine.detail == "租用 · 每月 ¥300.00" and mine.icon == "car"
    assert apply.detail == "空置车位 2 个" and apply.icon == "parking"
    flow.choose(mine.key)
    three = next(o for o in flow.view().options if o.key == "3")
    assert (three.label, three.value) == ("3 个月", "¥900.00")


def test_pay_method_rows_have_icons_and_a_reason_when_off(signed_in, fake):
    signed_in.go("parking")
    flow = signed_in.flow
    flow.choose(flow.view().options[0].key)
    flow.choose("12")
    icons = {o.key: o.icon for o in flow.view().options}
    assert icons == {"cash": "cash", "qr": "qrcode"}


def test_every_icon_a_flow_names_is_in_the_icon_font():
    from kiosk.flows import my_records, services_flows, steps

    names = set(services_flows.BOOKING_ICONS.values()) | set(my_records.RECORD_KIND_ICONS.values())
    names |= set(steps.METHOD_ICONS.values()) | set(steps.CARD_ICONS.values())
    names |= {"calendar-clock", "calendar", "car", "parking", "key", "bank", "printer", "chevron-left",
              "chevron-right", "credit-card"}
    assert names <= set(codepoints()), names - set(codepoints())


def test_old_option_fields_keep_their_places():
    option = Option("k", "label", False, True, "why")
    assert (option.enabled, option.selected, option.reason, option.detail, option.icon, option.value) == (
        False, True, "why", "", "", "")


def test_the_parking_application_confirm_asks_to_check_never_shows_the_catalog_header(signed_in):
    signed_in.go("parking")
    flow = signed_in.flow
    flow.choose("apply")
    flow.choose(flow.view().options[0].key)
    flow.choose("rent")
    view = flow.view()
    assert view.step == "confirm_apply" and view.prompt == "请核对并确认" and "Project-Id" not in view.prompt
