"""Out of hours the kiosk says first that it is closed, when it opens again, the hours and what still works; no
sign-in (card or PIN) is asked for a closed service, and a staff badge still opens the staff PIN pad."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from kiosk.flows.hours import PERSONAL_FEATURES
from kiosk.flows.navigator import Navigator
from kiosk.flows.records import Feature
from kiosk.flows.routes import ROUTES, Role
from kiosk.flows.runner import InlineRunner
from kiosk.flows.session import Session
from tests.support.fakes.data import MALL_HOURS, closed_today
from tests.support.fakes.services import FakeKioskServices

SUNDAY_NIGHT = datetime(2026, 11, 1, 23, 15)
MONDAY_EARLY = datetime(2026, 11, 2, 7, 5)


def _closed_kiosk(now: datetime = SUNDAY_NIGHT, fake: FakeKioskServices | None = None) -> Navigator:
    fake = fake or FakeKioskServices(now=now, hours=MALL_HOURS)
    session = Session()
    session.set_language("en")
    nav = Navigator(fake, session, InlineRunner(), clock=lambda: now)
    nav.go("attract")
    return nav


def test_closed_attract_page_says_closed_first_with_the_hours_and_what_still_works():
    view = _closed_kiosk().flow.view()
    assert view.closed is not None
    assert view.closed.title == "The service centre is closed now"
    assert view.closed.opens_again == "Opens again tomorrow at 09:30"
    assert view.closed.hours == ("Service hours:", "Monday–Friday 09:30–22:00", "Saturday–Sunday 09:30–22:30")
    assert view.closed.still_available == "Still available: Notices, Phone directory"
    assert view.sign_in_label == "" and view.prompt == "Available now:"  # no sign-in offered for closed services
    assert [e.key for e in view.entries if e.enabled] == ["notices", "directory"]


def test_open_attract_page_offers_sign_in_and_no_closed_notice():
    fake = FakeKioskServices(now=datetime(2026, 11, 2, 10, 30), hours=MALL_HOURS)
    view = _closed_kiosk(datetime(2026, 11, 2, 10, 30), fake).flow.view()
    assert view.closed is None and view.sign_in_label == "Sign in with unit number and PIN"


def test_before_opening_it_says_it_opens_today():
    nav = _closed_kiosk(MONDAY_EARLY, FakeKioskServices(now=MONDAY_EARLY, hours=MALL_HOURS))
    assert nav.flow.view().closed.opens_again == "Opens again today at 09:30"


def test_a_closed_day_is_named_and_the_next_opening_skips_it():
    today_closed = closed_today(SUNDAY_NIGHT.date())  # Sunday closed
    nav = _closed_kiosk(datetime(2026, 11, 1, 8, 0), FakeKioskServices(now=SUNDAY_NIGHT, hours=today_closed))
    closed = nav.flow.view().closed
    assert closed.hours[-1] == "Sunday: closed" and closed.opens_again == "Opens again tomorrow at 09:30"


def test_card_tap_out_of_hours_shows_the_closed_page_without_signing_in():
    nav = _closed_kiosk()
    nav.flow.card_tapped("A1B2C3D4")
    assert nav.route.name == "out_of_hours" and nav.session.identity is None
    page = nav.flow.view()
    assert page.reason == "The service centre is closed now."
    assert page.detail[:2] == ("Opens again tomorrow at 09:30", "Service hours:")
    assert ("notices", "Notices") in page.still_available and ("directory", "Phone directory") in page.still_available


def test_the_closed_page_says_each_part_in_its_own_field():
    nav = _closed_kiosk()
    nav.go("out_of_hours")
    page = nav.flow.view()
    assert (page.icon, page.headline, page.hours_title) == ("clock-alert", "Opens again tomorrow at 09:30",
                                                             "Service hours:")
    assert page.hours == ("Monday–Friday 09:30–22:00", "Saturday–Sunday 09:30–22:30")
    assert page.still_title == "Available now:" and page.detail == (page.headline, page.hours_title, *page.hours,
                                                                    page.still_title)


def test_out_of_service_pages_have_a_pictogram_and_an_error_its_reference_boxed(nav):
    nav.go("out_of_service")
    assert nav.flow.view().icon == "wrench" and nav.flow.view().reference_label == ""
    nav.go("out_of_service", reference="7F3A9C21")
    page = nav.flow.view()
    assert (page.icon, page.reference, page.reference_label) == ("alert-circle", "7F3A9C21", "参考号")
    nav.go("goodbye")
    assert nav.flow.view().icon == "emoticon-happy"


def test_sign_in_and_closed_features_go_to_the_closed_page_not_the_pin_pad():
    nav = _closed_kiosk()
    nav.flow.sign_in()
    assert nav.route.name == "out_of_hours"
    nav.go("pay_fees")
    assert nav.route.name == "out_of_hours" and nav.flow.view().reason == "Pay fees is available during service hours."
    nav.go("identify", then="records")
    assert nav.route.name == "out_of_hours" and nav.flow.feature == "records"
    nav.flow.open("notices")
    assert nav.route.name == "notices"


def test_staff_badge_tapped_out_of_hours_still_opens_the_staff_pin_pad():
    nav = _closed_kiosk()
    nav.flow.card_tapped("5A5A5A5A")
    assert nav.route.name == "staff_unlock" and nav.flow.card_uid == "5A5A5A5A"
    nav.go("out_of_hours")
    nav.flow.card_tapped("5A5A5A5A")
    assert nav.route.name == "staff_unlock"


def test_sign_in_stays_offered_when_the_site_keeps_a_personal_feature_open_out_of_hours():
    fake = FakeKioskServices(now=SUNDAY_NIGHT, hours=MALL_HOURS)
    fake.site = replace(fake.site, out_of_hours_features=fake.site.out_of_hours_features | {Feature.RECORDS})
    nav = _closed_kiosk(fake=fake)
    view = nav.flow.view()
    assert view.closed is not None and view.sign_in_label
    nav.flow.card_tapped("A1B2C3D4")
    assert nav.route.name == "household"
    records = next(a for a in nav.flow.view().actions if a.key == "records")
    pay = next(a for a in nav.flow.view().actions if a.key == "pay_fees")
    assert records.enabled and not pay.enabled and pay.reason == "Outside service hours"


def test_personal_features_are_exactly_the_routes_that_need_a_resident():
    assert PERSONAL_FEATURES == {r.feature for r in ROUTES.values() if r.role is Role.RESIDENT and r.feature}


def test_next_opening_is_read_on_the_site_clock_whatever_zone_the_instant_comes_in():
    from datetime import timezone

    from kiosk.flows.hours import next_opening
    from tests.support.fakes.data import demo_site

    site = demo_site(MALL_HOURS)
    sunday_night_utc = datetime(2026, 11, 1, 15, 15, tzinfo=timezone.utc)  # 23:15 in Asia/Shanghai
    assert next_opening(site, sunday_night_utc)[:2] == (1, 0)  # tomorrow, Monday
