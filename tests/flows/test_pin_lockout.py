"""The resident's side of the household PIN rules (Kivy-free, fake services): a locked household is told until when
and that staff can clear it; a PIN of up to 12 digits can be typed, one of 4 or 5 (stored before the 6-digit rule)
can still be sent."""
from __future__ import annotations

from datetime import timedelta

from kiosk import errors
from kiosk.flows.identify import IdentifyStep


def _unit_then_pin(nav, unit: str, pin: str) -> None:  # type: ignore[no-untyped-def]
    nav.go("identify")
    nav.flow.use_keypad()
    for key in unit:
        nav.flow.key(key)
    nav.flow.submit()
    for key in pin:
        nav.flow.key(key)


def test_a_locked_household_is_told_until_when_and_that_staff_can_clear_it(nav, fake):
    household = fake.households["H1"]
    household.pin_locked_until = fake.now() + timedelta(minutes=12)
    _unit_then_pin(nav, "1-0302", household.pin)  # even the right PIN waits
    nav.flow.submit()
    view = nav.flow.view()
    assert view.step is IdentifyStep.REFUSED and view.error.code == errors.AccountLocked.code
    assert household.pin_locked_until.strftime("%H:%M") in view.error.text
    assert "工作人员" in view.error.hint and "解除" in view.error.hint
    assert nav.session.identity is None


def test_the_keypad_takes_a_pin_of_up_to_twelve_digits(nav, fake):
    fake.households["H1"].pin = "123456789012"
    _unit_then_pin(nav, "1-0302", "1234567890129")  # the 13th digit is not taken
    assert nav.flow.view().entry == "●" * 12
    nav.flow.submit()
    assert nav.route.name == "household"


def test_a_four_digit_pin_stored_before_the_six_digit_rule_can_still_be_sent(nav, fake):
    _unit_then_pin(nav, "1-0302", "1234")
    assert nav.flow.view().can_submit
    nav.flow.submit()
    assert nav.route.name == "household"
