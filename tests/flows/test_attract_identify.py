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
    keys = [e.key for e in nav.flow.view().entries if e.enabled and not e.personal]
    assert keys == ["notices", "directory", "member_events", "callback"]


def test_attract_leads_with_the_main_jobs_and_a_personal_one_asks_for_a_sign_in_first(nav):
    view = nav.flow.view()
    assert [e.key for e in view.entries if e.main] == ["pay_fees", "top_up", "card_loss", "bookings", "parking",
                                                        "records", "notices"]
    assert [e.key for e in view.entries if not e.main] == ["directory", "member_events", "callback", "direct_debit"]
    assert all(e.enabled and e.detail == "" for e in view.entries)
    assert view.tap_card == "请在此处刷卡" and view.sign_in_label
    nav.flow.open_entry("top_up")
    assert nav.route.name == "identify" and nav.flow.then == "top_up"


def test_card_tap_identifies_household_and_opens_home(nav):
    nav.flow.card_tapped("A1B2C3D4")
    assert nav.route.name == "household"
    assert nav.session.identity.household_id == "H1"


def test_lost_card_tapped_offers_to_unblock_it_with_the_household_pin(nav):
    nav.flow.card_tapped("DEADBEEF")
    view = nav.flow.view()
    assert nav.route.name == "identify" and view.step is IdentifyStep.PIN and view.error is None
    assert view.prompt == "此卡已挂失。找到卡了？请输入住户密码解挂"
    assert nav.session.identity is None
    for key in "9999":
        nav.flow.key(key)
    nav.flow.submit()
    view = nav.flow.view()  # a wrong PIN: the pad again, with attempts left
    assert view.step is IdentifyStep.PIN and view.error.code == errors.WrongPin.code
    for key in "5678":
        nav.flow.key(key)
    nav.flow.submit()
    assert nav.route.name == "household" and nav.session.identity.card_uid == "DEADBEEF"
    assert nav.flow.summary.card_uid == "DEADBEEF" and nav.flow.summary.card_status.value == "active"
    note = nav.flow.view().card_note
    assert "恢复使用" in note
    assert nav.flow.unblocked.receipt_number in note


def test_back_on_the_found_card_pin_pad_returns_to_the_card_prompt(nav):
    nav.flow.card_tapped("DEADBEEF")
    nav.flow.back()
    assert nav.flow.view().step is IdentifyStep.CHOOSE and nav.flow.found_uid == ""


def test_frozen_card_tapped_is_unfrozen_with_the_household_pin(nav, fake):
    nav.flow.card_tapped("CAFEF00D")
    view = nav.flow.view()
    assert view.step is IdentifyStep.PIN and view.error is None
    for key in "0000":
        nav.flow.key(key)
    nav.flow.submit()
    assert nav.route.name == "household" and fake.cards["CAFEF00D"].status.value == "active"


def test_replaced_card_is_refused_saying_it_can_never_be_unblocked(nav):
    nav.flow.card_tapped("0BADCAFE")
    view = nav.flow.view()
    assert view.step is IdentifyStep.REFUSED and view.error.code == errors.CardReplaced.code
    assert "永远不能解挂" in view.error.hint


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
