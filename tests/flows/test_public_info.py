"""No-sign-in journeys: notices, directory (public only), member events sign-up, callback request."""
from __future__ import annotations

from kiosk.flows.public_info import CallbackStep, ListStep


def test_notices_list_is_current_and_pinned_first(nav):
    nav.go("notices")
    rows = nav.flow.view().rows
    assert [r.key for r in rows] == ["N1", "N2"] and rows[0].title.startswith("[置顶]")


def test_gold_member_also_sees_tier_notices(signed_in):
    signed_in.go("notices")
    assert "N3" in [r.key for r in signed_in.flow.view().rows]


def test_directory_never_shows_staff_only_numbers(nav):
    nav.go("directory")
    phones = [r.detail for r in nav.flow.view().rows]
    assert "020-8888 1000" in phones and "138-0000-9999" not in phones


def test_event_sign_up_asks_to_identify_first_then_signs_up(nav, fake):
    nav.go("member_events")
    nav.flow.act("E1")
    assert nav.route.name == "identify"
    nav.flow.card_tapped("A1B2C3D4")
    assert nav.route.name == "member_events"
    nav.flow.act("E1")
    view = nav.flow.view()
    assert view.step is ListStep.DONE and "EV-E1-H1" in view.message and ("H1", "E1") in fake.sign_ups


def test_callback_request_records_masked_phone_and_gives_reference(nav, fake):
    nav.go("callback")
    flow = nav.flow
    flow.choose_topic("Repairs")
    for d in "13800138000":
        flow.key(d)
    assert flow.view().phone == "138 0013 8000"
    flow.submit()
    view = flow.view()
    assert view.step is CallbackStep.DONE and "CB" in view.message
    (callback,) = fake.callbacks.values()
    assert callback.phone_masked == "138****8000" and callback.topic == "Repairs"


def test_callback_with_too_short_number_cannot_be_sent(nav, fake):
    nav.go("callback")
    nav.flow.choose_topic("Other")
    for d in "12345":
        nav.flow.key(d)
    nav.flow.submit()
    assert nav.flow.view().step is CallbackStep.PHONE and not fake.callbacks


def test_notice_rows_carry_an_icon_their_category_and_dates_and_the_body(nav):
    nav.go("notices")
    pinned, fees = nav.flow.view().rows
    assert pinned.icon == "pin" and fees.icon == "receipt"
    assert fees.meta.startswith("收费通知 · 发布于 ") and fees.body.startswith("10月物业管理费")
    assert fees.detail == f"{fees.meta}\n{fees.body}"  # the old field keeps every line


def test_directory_rows_show_the_number_large_its_hours_and_an_icon_per_kind(nav):
    nav.go("directory")
    service, security, repairs = nav.flow.view().rows
    assert (service.figure, service.note, service.icon) == ("020-8888 1000", "服务时间：08:30–20:00", "headset")
    assert (security.note, security.icon) == ("24 小时服务", "security") and repairs.icon == "wrench"


def test_event_rows_say_when_where_what_and_who_may_join(signed_in):
    signed_in.go("member_events")
    rows = {r.key: r for r in signed_in.flow.view().rows}
    baking, wine, talk = rows["E1"], rows["E2"], rows["E3"]
    assert baking.meta == "周四 11月5日 10:30–12:30 · 会所 / Clubhouse" and baking.body.startswith("和孩子一起")
    assert baking.note == "所有住户均可报名 · 剩余 2 个名额" and baking.action == "报名" and baking.action_enabled
    assert wine.note == "金卡会员专享 · 剩余 10 个名额"  # the signed-in household is gold
    assert not talk.action_enabled and talk.reason == "名额已满" and talk.note.endswith("名额已满")


def test_a_full_event_cannot_be_signed_up_for(signed_in, fake):
    signed_in.go("member_events")
    signed_in.flow.act("E3")
    assert signed_in.flow.view().step is ListStep.READY and "sign_up_event" not in fake.calls


def test_events_for_a_tier_are_hidden_from_visitors_and_other_tiers(nav):
    nav.go("member_events")
    assert [r.key for r in nav.flow.view().rows] == ["E1", "E3"]
