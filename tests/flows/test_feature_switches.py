"""Per-feature switches in the flows: a feature the site does not offer (config) is shown nowhere; a feature staff
switched off is shown disabled with the staff's message, on this kiosk and on every other kiosk of the site."""
from __future__ import annotations

from dataclasses import replace

from kiosk.flows.attract_snapshot import AttractContent, decode, encode
from kiosk.flows.navigator import Navigator
from kiosk.flows.records import Feature, ServiceStatus, SwitchedOffView
from kiosk.flows.runner import InlineRunner
from kiosk.flows.session import Session
from kiosk.flows.staff_features import SWITCH_MESSAGES
from kiosk.i18n import translate
from tests.flows.conftest import NOW
from tests.support.fakes.services import FakeKioskServices


def _kiosk(fake: FakeKioskServices) -> Navigator:
    nav = Navigator(fake, Session(), InlineRunner(), clock=lambda: NOW)
    nav.go("attract")
    return nav


def _staff_switch(nav: Navigator, feature: str, message_index: int | None) -> None:
    """Maintenance: sign in, Services on and off, the feature, (a message,) confirm, lock."""
    nav.go("staff_unlock")
    for d in "2468":
        nav.flow.key(d)
    nav.flow.submit()
    nav.flow.open("staff_features")
    assert nav.route.name == "staff_features" and nav.flow.view().step == "list"
    nav.flow.choose(feature)
    if message_index is not None:
        assert nav.flow.view().step == "message"
        nav.flow.choose(str(message_index))
        assert nav.flow.view().step == "confirm_off"
    else:
        assert nav.flow.view().step == "confirm_on"
    nav.flow.primary()
    assert nav.flow.view().step == "list"
    nav.go("staff_home")
    nav.flow.lock()


def _action(nav: Navigator, key: str):
    return next((a for a in nav.flow.view().actions if a.key == key), None)


def test_a_feature_the_site_does_not_offer_is_not_shown_anywhere(fake):
    fake.site = replace(fake.site, features=fake.site.features - {Feature.PARKING, Feature.MEMBER_EVENTS})
    nav = _kiosk(fake)
    assert "member_events" not in [e.key for e in nav.flow.view().entries]
    nav.flow.card_tapped("A1B2C3D4")
    assert _action(nav, "parking") is None and _action(nav, "member_events") is None
    assert _action(nav, "pay_fees").enabled
    nav.go("parking")  # only a stale link could ask: the page says so, no journey starts
    assert nav.route.name == "out_of_service"
    assert nav.flow.view().reason == "车位：本小区不提供此项服务。"
    nav.go("staff_unlock")
    for d in "2468":
        nav.flow.key(d)
    nav.flow.submit()
    nav.flow.open("staff_features")
    assert "parking" not in [o.key for o in nav.flow.view().options]


def test_staff_switch_a_feature_off_with_a_message_and_residents_see_it_disabled(fake):
    nav = _kiosk(fake)
    _staff_switch(nav, "parking", 0)
    assert fake.switched_off[Feature.PARKING].message == SWITCH_MESSAGES[0]
    assert ("S1", f"feature parking off: {SWITCH_MESSAGES[0]}") in fake.audit
    nav.flow.card_tapped("A1B2C3D4")
    parking = _action(nav, "parking")
    assert not parking.enabled and parking.reason == translate(SWITCH_MESSAGES[0], "zh_Hans")
    assert _action(nav, "pay_fees").enabled
    nav.go("parking")
    assert nav.route.name == "out_of_service"
    page = nav.flow.view()
    assert page.reason == "车位暂停办理。" and translate(SWITCH_MESSAGES[0], "zh_Hans") in page.detail
    assert page.back_label == "返回"
    nav.flow.back()  # the signed-in resident goes back to their household page, still signed in
    assert nav.route.name == "household" and nav.session.identity is not None


def test_another_kiosk_of_the_site_follows_at_its_next_attract_page(fake):
    other = _kiosk(fake)  # already showing its attract page
    _staff_switch(_kiosk(fake), "notices", 1)
    other.go("attract")  # every return to the attract page reloads the status
    entry = next(e for e in other.flow.view().entries if e.key == "notices")
    assert not entry.enabled and entry.detail == translate(SWITCH_MESSAGES[1], "zh_Hans")
    other.flow.open_entry("notices")
    assert other.route.name == "out_of_service"


def test_staff_switch_it_back_on(fake):
    nav = _kiosk(fake)
    _staff_switch(nav, "parking", 2)
    nav.go("staff_unlock")
    for d in "2468":
        nav.flow.key(d)
    nav.flow.submit()
    nav.flow.open("staff_features")
    option = next(o for o in nav.flow.view().options if o.key == "parking")
    assert option.selected and option.reason == translate(SWITCH_MESSAGES[2], "zh_Hans")
    nav.go("staff_home")
    nav.flow.lock()
    _staff_switch(nav, "parking", None)
    assert fake.switched_off == {} and ("S1", "feature parking on") in fake.audit
    nav.flow.card_tapped("A1B2C3D4")
    assert _action(nav, "parking").enabled
    nav.go("parking")
    assert nav.route.name == "parking"


def test_switched_off_features_survive_the_attract_snapshot_without_staff_details():
    status = ServiceStatus(False, "", switched_off=(SwitchedOffView(Feature.PARKING, SWITCH_MESSAGES[0]),))
    content = AttractContent(None, status, {})
    assert decode(encode(content)) == content
    old = encode(AttractContent(None, ServiceStatus(False, ""), {}))
    del old["status"]["switched_off"]  # a snapshot written before switches existed
    assert decode(old).status.switched_off == ()


def test_out_of_hours_still_available_leaves_out_what_staff_switched_off():
    from tests.flows.test_out_of_hours import SUNDAY_NIGHT, _closed_kiosk
    from tests.support.fakes.data import MALL_HOURS

    fake = FakeKioskServices(now=SUNDAY_NIGHT, hours=MALL_HOURS)
    fake.switched_off[Feature.DIRECTORY] = SwitchedOffView(Feature.DIRECTORY, SWITCH_MESSAGES[1], "王芳")
    view = _closed_kiosk(fake=fake).flow.view()
    assert view.closed.still_available == "Still available: Notices"


def test_no_sign_in_is_offered_while_staff_switched_off_every_feature_a_resident_signs_in_for(fake):
    from kiosk.flows.hours import PERSONAL_FEATURES

    for feature in PERSONAL_FEATURES:
        fake.switched_off[feature] = SwitchedOffView(feature, SWITCH_MESSAGES[0], "staff01")
    nav = _kiosk(fake)
    view = nav.flow.view()
    assert view.sign_in_label == "" and view.prompt == "现在可以使用："
    nav.flow.card_tapped("A1B2C3D4")  # a resident's card asks for nothing that cannot be used
    assert nav.route.name == "out_of_service" and nav.session.identity is None
    assert nav.flow.view().reason == "需要登录的业务暂停办理。"
    nav.flow.card_tapped("5A5A5A5A")  # a staff badge still opens the staff PIN pad, to switch them back on
    assert nav.route.name == "staff_unlock"
    fake.switched_off.pop(next(iter(PERSONAL_FEATURES)))
    nav.go("attract")
    assert nav.flow.view().sign_in_label != ""
