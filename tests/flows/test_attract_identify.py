"""Attract and identify journeys: greeting, notices, language, card tap and keypad sign-in, refusals."""
from __future__ import annotations

from kiosk import errors
from kiosk.flows.identify import IdentifyStep


def test_attract_greets_with_the_site_name_in_the_chosen_language(nav):
    assert nav.flow.view().greeting == "您好，翠湖花园"
    nav.set_language("en")
    assert nav.flow.view().greeting == "Hello, Green Lake Garden"
    nav.set_language("zh_Hant")
    assert nav.flow.view().greeting == "您好，翠湖花園"


def test_attract_cycles_current_public_notices_pinned_first(nav):
    view = nav.flow.view()
    assert view.notice.pinned and "停水通知" in view.notice.title and view.notice_position == "1 / 2"
    nav.flow.next_notice()
    assert "物业费" in nav.flow.view().notice.title
    nav.flow.next_notice()
    assert nav.flow.view().notice_position == "1 / 2"  # wraps; expired and gold-only notices never shown


def test_attract_offers_public_entries_without_sign_in(nav):
    keys = [e.key for e in nav.flow.view().entries if e.enabled]
    assert keys == ["notices", "directory", "member_events", "callback"]


def test_card_tap_identifies_household_and_opens_home(nav):
    nav.flow.card_tapped("A1B2C3D4")
    assert nav.route.name == "household"
    assert nav.session.identity.household_id == "H1"


def test_lost_card_is_refused_with_reason_and_what_to_do(nav):
    nav.flow.card_tapped("DEADBEEF")
    view = nav.flow.view()
    assert nav.route.name == "identify" and view.step is IdentifyStep.REFUSED
    assert view.error.code == errors.CardBlocked.code
    assert "挂失" in view.error.text and "补卡" in view.error.hint
    assert nav.session.identity is None


def test_frozen_card_is_refused_and_told_how_to_unfreeze(nav):
    nav.flow.card_tapped("CAFEF00D")
    view = nav.flow.view()
    assert view.error.code == errors.CardFrozen.code and "解挂" in view.error.hint


def test_unit_and_pin_on_the_keypad_sign_in(nav):
    nav.flow.sign_in()
    flow = nav.flow
    flow.use_keypad()
    for key in "1-0302":
        flow.key(key)
    assert flow.view().entry == "1-0302"
    flow.submit()
    for key in "1234":
        flow.key(key)
    assert flow.view().entry == "●●●●"  # the PIN is never shown
    flow.submit()
    assert nav.route.name == "household" and nav.session.identity.unit_label == "1栋-**02"


def test_wrong_pin_stays_on_pin_entry_with_attempts_left(nav):
    nav.go("identify")
    flow = nav.flow
    flow.use_keypad()
    for key in "1-0302":
        flow.key(key)
    flow.submit()
    for key in "9999":
        flow.key(key)
    flow.submit()
    view = flow.view()
    assert view.step is IdentifyStep.PIN and view.error.code == errors.WrongPin.code and view.entry == ""
    assert "3" in view.error.text


def test_keypad_ignores_second_dash_and_limits_length(nav):
    nav.go("identify")
    flow = nav.flow
    flow.use_keypad()
    for key in "12--3456789":
        flow.key(key)
    assert flow.unit == "12-34567"
    flow.key("back")
    assert flow.unit == "12-3456"


def test_resident_route_without_identity_asks_to_identify_then_continues(nav, fake):
    nav.go("pay_fees")
    assert nav.route.name == "identify"
    nav.flow.card_tapped("A1B2C3D4")
    assert nav.route.name == "pay_fees"


def test_identify_failure_of_the_service_is_shown_not_raised(nav, fake):
    fake.fail("identify_card", errors.StorageError("db down"))
    nav.flow.card_tapped("A1B2C3D4")
    assert nav.flow.view().error.code == errors.StorageError.code
