"""The real facade's feature switches on both databases: the site's config leaves features out; staff switch one
off with a message and back on; two kiosks of the site (two runtimes on one database) see the same switches."""
from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from kiosk import bootstrap
from kiosk.app_runtime.devices import AttachedDevices
from kiosk.app_runtime.runtime import KioskRuntime
from kiosk.errors import InvalidEntry, PermissionDenied
from kiosk.flows import records as r
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import AuditEntry
from tests.support.demo_site import seeded_site

MESSAGE = "Under maintenance. Please try again later."


def _runtime(settings, db, till) -> KioskRuntime:
    return KioskRuntime(settings, db, till, AttachedDevices(None, None, None, None))


@pytest.fixture
def kiosks(engine, factory, db_url, tmp_path):
    """Two kiosks of one mall site that does not offer parking, on the same database."""
    s, db, till, _report = seeded_site(engine, factory, db_url, tmp_path / "data", households=2)
    mall = replace(s, site=replace(s.site, features_not_offered=("parking",)))
    second = replace(mall, site=replace(mall.site, kiosk_code="K02"))
    runtimes = [_runtime(mall, db, till), _runtime(second, db, bootstrap.ensure_till(db, second))]
    yield runtimes
    for rt in runtimes:
        for sup in rt.supervisors.values():
            sup.stop()


def test_a_feature_the_site_does_not_offer_is_left_out_of_the_site_info(kiosks):
    features = kiosks[0].services.site_info().features
    assert r.Feature.PARKING not in features and r.Feature.PAY_FEES in features


def test_staff_switch_a_feature_off_and_every_kiosk_of_the_site_reports_it(kiosks, factory):
    one, two = (rt.services for rt in kiosks)
    who = one.staff_sign_in("246810")
    one.switch_feature(who.staff_id, "bookings", MESSAGE)
    for svc in (one, two):
        switched = svc.service_status().switched_off
        assert [(o.feature, o.message, o.by) for o in switched] == [(r.Feature.BOOKINGS, MESSAGE, "staff01")]
        assert switched[0].since is not None
    two.switch_feature(who.staff_id, "bookings", None)
    assert one.service_status().switched_off == () and two.service_status().switched_off == ()
    with unit_of_work(factory) as s:
        actions = [(a.actor, a.action) for a in s.scalars(select(AuditEntry).where(
            AuditEntry.action.like("feature.%")).order_by(AuditEntry.id))]
    assert actions == [("staff:staff01", "feature.switched_off"), ("staff:staff01", "feature.switched_on")]


def test_an_unknown_staff_member_or_feature_is_refused(kiosks):
    svc = kiosks[0].services
    with pytest.raises(PermissionDenied):
        svc.switch_feature("999999", "bookings", MESSAGE)
    who = svc.staff_sign_in("246810")
    with pytest.raises(InvalidEntry):
        svc.switch_feature(who.staff_id, "valet", MESSAGE)
    assert svc.service_status().switched_off == ()
