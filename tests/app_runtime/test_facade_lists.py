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
