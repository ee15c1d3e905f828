"""The real facade fills the list pages' records: booking slots with places left and their half-day (both
databases)."""
from __future__ import annotations

from datetime import timedelta

from kiosk.domain.site_clock import site_today


def test_booking_slots_carry_places_left_and_the_half_day(rt):
    day = site_today() + timedelta(days=3)
    slots = rt.services.booking_slots("broadband", day, 2)
    assert [s.period for s in slots] == ["am", "pm", "am", "pm"]
    assert all(s.places_left == rt.booking_capacity and s.available for s in slots)


def test_member_events_say_place_description_who_may_join_and_until_when(rt):
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    everyone = rt.services.member_events(None, "zh_Hant", now)
    gold = rt.services.member_events("gold", "en", now)
    assert everyone and all(e.audience_tier is None for e in everyone)
    assert all(e.place and e.description and e.ends_at and e.ends_at > e.starts_at for e in everyone)
    wine = next(e for e in gold if e.audience_tier == "gold")
    assert (wine.title, wine.place) == ("Gold members' wine tasting", "Clubhouse lounge, 2nd floor")
    assert wine.seats_left == 12 and "wines" in wine.description
    crafts = next(e for e in everyone if e.title == "親子手工課")
    assert crafts.place == "會所多功能廳"


def test_directory_entries_say_their_kind_and_hours(rt):
    entries = {e.name: e for e in rt.services.directory("en")}
    assert (entries["Service centre"].category, entries["Service centre"].hours) == ("service", "08:30-20:00")
    assert entries["Security desk"].hours == "24h" and entries["Community clinic"].category == "clinic"
