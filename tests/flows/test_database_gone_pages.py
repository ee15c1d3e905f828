"""The pages when the estate database is gone (the probe's verdict reaches the navigator) and when it is back."""
from __future__ import annotations

from datetime import datetime, timezone

from kiosk.flows.navigator import Navigator
from kiosk.flows.records import Feature
from kiosk.i18n import LANGUAGES


COPIED = datetime(2026, 11, 2, 2, 5, tzinfo=timezone.utc)  # 10:05 on the site's clock


def test_the_start_page_gives_way_to_out_of_service_with_a_code_and_what_still_works(nav: Navigator):
    nav.database_changed(False, COPIED)
    assert nav.route.name == "out_of_service"
    view = nav.flow.view()
    assert "[E2012]" in view.reason
    assert [route for route, _label in view.still_available] == ["notices", "directory", "member_events"]
    assert any("10:05" in line for line in view.detail), view.detail
    for language in LANGUAGES:
        nav.set_language(language)
        assert "[E2012]" in nav.flow.view().reason
    nav.set_language("en")
    nav.flow.open("notices")
    assert nav.route.name == "notices"
    assert "copy from" in nav.flow.view().message


def test_every_feature_that_moves_money_or_needs_a_sign_in_is_out_of_service(nav: Navigator):
    nav.database_changed(False, COPIED)
    for route in ("identify", "household", "pay_fees", "top_up", "card_loss", "bookings", "parking", "records",
                  "callback"):
        nav.go(route)
        assert nav.route.name == "out_of_service" and nav.flow.database, route
    status = nav.ctx.status
    assert all(status.feature_blocked(f) for f in Feature
               if f not in (Feature.NOTICES, Feature.DIRECTORY, Feature.MEMBER_EVENTS))
    nav.go("member_events")
    view = nav.flow.view()
    assert view.rows and not any(row.action_enabled for row in view.rows)


def test_a_signed_in_resident_is_signed_out_and_told(signed_in: Navigator):
    signed_in.database_changed(False, COPIED)
    assert signed_in.route.name == "out_of_service"
    assert signed_in.session.identity is None


def test_back_in_service_by_itself_when_the_database_answers(nav: Navigator):
    nav.database_changed(False, COPIED)
    assert nav.route.name == "out_of_service"
    nav.database_changed(True)
    assert nav.route.name == "attract"
    assert not nav.ctx.status.database_down
    nav.flow.card_tapped("A1B2C3D4")
    assert nav.route.name == "household"


def test_staff_pages_stay_while_the_database_is_gone(nav: Navigator):
    nav.go("staff_unlock")
    nav.database_changed(False, COPIED)
    assert nav.route.name == "staff_unlock"
