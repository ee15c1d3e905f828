"""Staff card sign-in: a staff card tapped on the attract screen opens the staff PIN pad with the card read;
card + PIN signs that staff member in, five wrong PINs lock the card's account."""
from __future__ import annotations

from kiosk import errors
from kiosk.flows.staff import UnlockStep

STAFF_CARD = "5A5A5A5A"  # 王芳's card in the fake estate


def _type(flow, digits: str) -> None:  # type: ignore[no-untyped-def]
    for d in digits:
        flow.key(d)
    flow.submit()


def test_staff_card_on_the_attract_screen_opens_the_pin_pad_with_the_card_read(nav, fake):
    nav.flow.card_tapped(STAFF_CARD)
    assert nav.route.name == "staff_unlock"
    assert nav.flow.card_uid == STAFF_CARD
    view = nav.flow.view()
    assert view.step is UnlockStep.PIN and view.error is None
    assert view.prompt == "已读取员工卡，请输入密码"  # "Staff card read. Enter your PIN"
    assert nav.session.identity is None  # nobody was signed in as a household


def test_staff_card_and_pin_sign_that_staff_member_in(nav, fake):
    nav.flow.card_tapped(STAFF_CARD.lower())  # UIDs compare case-insensitively
    _type(nav.flow, "2468")
    assert nav.route.name == "staff_home"
    assert nav.session.staff.name == "王芳" and nav.session.staff.role == "staff"
    assert (fake.staff["S1"].staff_id, "sign in by card") in fake.audit


def test_staff_card_with_another_staff_members_pin_is_refused(nav, fake):
    nav.flow.card_tapped(STAFF_CARD)
    _type(nav.flow, "1357")  # 李强's PIN, not the card holder's
    assert nav.route.name == "staff_unlock"
    assert nav.flow.view().error.code == errors.WrongPin.code and nav.session.staff is None


def test_five_wrong_pins_after_a_staff_card_lock_the_card_holders_account(nav, fake):
    nav.flow.card_tapped(STAFF_CARD)
    for remaining in (4, 3, 2, 1):
        _type(nav.flow, "0000")
        view = nav.flow.view()
        assert view.step is UnlockStep.PIN and view.error.code == errors.WrongPin.code
        assert str(remaining) in view.error.text
        assert nav.flow.card_uid == STAFF_CARD  # the card stays read between attempts
    _type(nav.flow, "0000")
    view = nav.flow.view()
    assert view.step is UnlockStep.LOCKED and view.error.code == errors.AccountLocked.code
    _type(nav.flow, "2468")  # the right PIN cannot even be typed now
    assert nav.route.name == "staff_unlock" and nav.session.staff is None
    nav.go("attract")
    nav.flow.card_tapped(STAFF_CARD)  # a new tap later: still locked
    _type(nav.flow, "2468")
    assert nav.flow.view().error.code == errors.AccountLocked.code and nav.session.staff is None


def test_staff_card_tapped_on_the_sign_in_page_also_goes_to_the_staff_pin_pad(nav):
    nav.flow.sign_in()
    assert nav.route.name == "identify"
    nav.flow.card_tapped(STAFF_CARD)
    assert nav.route.name == "staff_unlock" and nav.flow.card_uid == STAFF_CARD


def test_staff_card_tapped_on_the_staff_pin_pad_is_read(nav):
    nav.go("staff_unlock")
    assert nav.flow.view().prompt == "请输入员工密码"
    nav.flow.card_tapped(STAFF_CARD)
    assert nav.flow.view().prompt == "已读取员工卡，请输入密码"
    _type(nav.flow, "2468")
    assert nav.route.name == "staff_home"


def test_resident_card_still_signs_in_the_household(nav):
    nav.flow.card_tapped("A1B2C3D4")
    assert nav.route.name == "household" and nav.session.staff is None


def _switched_off(nav, fake):  # type: ignore[no-untyped-def]
    nav.go("staff_unlock")
    _type(nav.flow, "2468")
    nav.flow.toggle_service()
    nav.flow.lock()
    assert nav.route.name == "out_of_service" and nav.session.staff is None


def test_staff_card_on_the_out_of_service_page_opens_the_pin_pad(nav, fake):
    _switched_off(nav, fake)
    nav.flow.card_tapped(STAFF_CARD)
    assert nav.route.name == "staff_unlock" and nav.flow.card_uid == STAFF_CARD
    _type(nav.flow, "2468")
    assert nav.route.name == "staff_home"


def test_resident_card_on_the_out_of_service_page_signs_nobody_in(nav, fake):
    _switched_off(nav, fake)
    nav.flow.card_tapped("A1B2C3D4")
    assert nav.route.name == "out_of_service" and nav.session.identity is None
