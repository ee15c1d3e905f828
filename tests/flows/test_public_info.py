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
