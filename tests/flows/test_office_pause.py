"""A pause from the office (kiosk.fleet.actions sets the kiosk's out-of-service flag, then ServiceStateChanged):
an idle kiosk shows the out-of-service page with the office's message at once; a resident in the middle of a
payment is never interrupted, and the pause shows when the session ends; a resume brings the first page back."""
from __future__ import annotations

from kiosk.flows.navigator import Navigator

MESSAGE = "系统升级，暂停服务至 15:00"


def test_an_idle_kiosk_shows_the_office_message_at_once_and_comes_back_on_resume(nav: Navigator, fake):
    fake.out_of_service_reason = MESSAGE  # what the pause wrote in the database
    nav.service_state_changed()
    assert nav.route.name == "out_of_service"
    assert nav.flow.view().reason == MESSAGE
    fake.out_of_service_reason = None
    nav.service_state_changed()
    assert nav.route.name == "attract"


def test_a_resident_paying_is_not_interrupted_and_the_pause_shows_when_the_session_ends(signed_in: Navigator,
                                                                                        fake):
    signed_in.go("pay_fees")
    assert signed_in.route.name == "pay_fees"
    fake.out_of_service_reason = MESSAGE
    signed_in.service_state_changed()
    assert signed_in.route.name == "pay_fees" and signed_in.session.identity is not None
    signed_in.go("household")  # the resident carries on
    assert signed_in.route.name == "household"
    signed_in.end_session()
    assert signed_in.route.name == "out_of_service" and signed_in.flow.view().reason == MESSAGE
