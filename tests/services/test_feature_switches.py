"""Feature switches: staff switch a feature off for the whole site with a message and back on; every kiosk of
the site reads the same rows; both changes are audited with the staff member's name. Both databases."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from kiosk.domain.terms import SiteFeature, StaffRole
from kiosk.errors import InvalidEntry
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import AuditEntry, FeatureSwitch, Kiosk, Site
from kiosk.services import audit, feature_switches, staff

MESSAGE = "Parking payments are handled at the management office this week."


@pytest.fixture
def wang(factory, mini):
    with unit_of_work(factory) as s:
        return staff.add_staff(s, name="王芳", role=StaffRole.STAFF, pin="135790", actor="admin:setup")


def _switched_off(factory, site_id):
    with unit_of_work(factory) as s:
        return feature_switches.switched_off(s, site_id)


def test_switching_a_feature_off_is_seen_by_every_kiosk_of_the_site_with_its_message(factory, mini, wang):
    site_id = mini.till.site_id
    with unit_of_work(factory) as s:  # a second kiosk of the same site, and another site
        s.add(Kiosk(site_id=site_id, code="K02", name="Car park"))
        other = Site(code="SP", name_zh_hans="阳光广场", name_zh_hant="陽光廣場", name_en="Sunny Plaza")
        s.add(other)
        s.flush()
        other_id = other.id
    with unit_of_work(factory) as s:
        feature_switches.switch_off(s, site_id, wang.staff_id, wang.name, "parking", MESSAGE)
    off = _switched_off(factory, site_id)
    assert [(o.feature, o.message, o.by) for o in off] == [(SiteFeature.PARKING, MESSAGE, "王芳")]
    assert off[0].since.tzinfo is not None
    assert _switched_off(factory, other_id) == ()  # another site is not touched


def test_switching_off_again_replaces_the_message_and_on_removes_it(factory, mini, wang):
    site_id = mini.till.site_id
    with unit_of_work(factory) as s:
        feature_switches.switch_off(s, site_id, wang.staff_id, wang.name, "parking", MESSAGE)
    with unit_of_work(factory) as s:
        feature_switches.switch_off(s, site_id, wang.staff_id, wang.name, "parking", "Under maintenance")
        feature_switches.switch_off(s, site_id, wang.staff_id, wang.name, "bookings", "Under maintenance")
    assert [(o.feature, o.message) for o in _switched_off(factory, site_id)] == [
        (SiteFeature.BOOKINGS, "Under maintenance"), (SiteFeature.PARKING, "Under maintenance")]
    with unit_of_work(factory) as s:
        assert s.scalar(select(FeatureSwitch.id).where(FeatureSwitch.feature == "parking")) is not None
        assert feature_switches.switch_on(s, site_id, wang.name, "parking") is True
    with unit_of_work(factory) as s:
        assert feature_switches.switch_on(s, site_id, wang.name, "parking") is False  # already on: no-op
    assert [o.feature for o in _switched_off(factory, site_id)] == [SiteFeature.BOOKINGS]


def test_each_switch_is_audited_with_the_staff_member_and_the_chain_holds(factory, mini, wang):
    site_id = mini.till.site_id
    with unit_of_work(factory) as s:
        feature_switches.switch_off(s, site_id, wang.staff_id, wang.name, "parking", MESSAGE)
    with unit_of_work(factory) as s:
        feature_switches.switch_on(s, site_id, wang.name, "parking")
    with unit_of_work(factory) as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.action.like("feature.%")).order_by(AuditEntry.id)).all()
        assert [(r.actor, r.action, r.subject) for r in rows] == [
            ("staff:王芳", "feature.switched_off", "feature:parking"),
            ("staff:王芳", "feature.switched_on", "feature:parking")]
        assert json.loads(rows[0].details) == {"message": MESSAGE}
        assert audit.verify(s).ok


def test_unknown_feature_and_empty_message_are_refused(factory, mini, wang):
    site_id = mini.till.site_id
    for feature, message in (("valet", MESSAGE), ("parking", "  ")):
        with pytest.raises(InvalidEntry):
            with unit_of_work(factory) as s:
                feature_switches.switch_off(s, site_id, wang.staff_id, wang.name, feature, message)
    assert _switched_off(factory, site_id) == ()
