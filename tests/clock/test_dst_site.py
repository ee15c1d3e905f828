"""A site with daylight saving (Europe/London, Sundays 08:30-17:00) opens and closes at its local times across
the March and October changes: the real facade's site info and hours, the attract flow on the site's clock."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from kiosk.app_runtime.devices import AttachedDevices
from kiosk.app_runtime.runtime import KioskRuntime
from kiosk.domain import site_clock
from kiosk.flows.navigator import Navigator
from kiosk.flows.runner import InlineRunner
from kiosk.flows.session import Session
from tests.support.demo_site import seeded_site

UTC = timezone.utc
LONDON_SITE = '[site]\ntimezone = "Europe/London"\n[site.hours]\n' + "".join(
    f'{d} = "08:30-17:00"\n' for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))


def utc(month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


CASES = [  # (instant, open?) - local time in the comment
    (utc(3, 22, 8, 29), False), (utc(3, 22, 8, 30), True),    # GMT: 08:29 / 08:30
    (utc(3, 22, 16, 59), True), (utc(3, 22, 17, 0), False),   # 16:59 / 17:00
    (utc(3, 29, 7, 29), False), (utc(3, 29, 7, 30), True),    # the March change (BST): 08:29 / 08:30
    (utc(3, 29, 15, 59), True), (utc(3, 29, 16, 0), False),   # 16:59 / 17:00
    (utc(10, 18, 7, 30), True), (utc(10, 18, 16, 0), False),  # still BST
    (utc(10, 25, 7, 30), False), (utc(10, 25, 8, 30), True),  # the October change (GMT): 07:30 / 08:30
    (utc(10, 25, 16, 30), True), (utc(10, 25, 17, 0), False), # 16:30 / 17:00
]


@pytest.fixture
def london(engine, factory, db_url, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    site = tmp_path / "london.toml"
    site.write_text(LONDON_SITE, encoding="utf-8")
    monkeypatch.setenv("KIOSK_CONFIG", str(site))
    moment = [utc(3, 1, 12, 0)]
    site_clock.use_source(lambda: moment[0])
    s, db, till, _report = seeded_site(engine, factory, db_url, tmp_path / "data", households=1)
    assert site_clock.site_zone().key == "Europe/London"
    rt = KioskRuntime(s, db, till, AttachedDevices(None, None, None, None))
    yield rt, moment
    for sup in rt.supervisors.values():
        sup.stop()


def test_a_london_site_opens_and_closes_at_local_time_across_both_changes(london):
    rt, moment = london
    nav = Navigator(rt.services, Session(default_language="en", language="en"), InlineRunner())
    seen = []
    for at, expect_open in CASES:
        moment[0] = at
        nav.go("attract")
        view = nav.flow.view()
        seen.append((at.isoformat(), view.closed is None and bool(view.sign_in_label)))
    assert seen == [(at.isoformat(), expect_open) for at, expect_open in CASES]
