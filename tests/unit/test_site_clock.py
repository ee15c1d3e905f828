"""One clock: instants are UTC, the site's zone decides what a person reads and which day or hour it is."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest

from kiosk import settings
from kiosk.domain import site_clock
from kiosk.errors import ConfigError
from kiosk.flows.records import Feature, OpeningHours, SiteInfo
from kiosk.i18n import format_date, format_datetime, format_time

UTC = timezone.utc


def test_an_instant_is_shown_on_the_site_wall_clock_not_the_machines():
    site_clock.use_zone("Asia/Shanghai")
    paid = datetime(2026, 12, 6, 1, 32, tzinfo=UTC)  # 09:32 in Shanghai
    assert site_clock.to_site(paid).strftime("%H:%M") == "09:32"
    assert format_time(paid, "en") == "09:32"
    assert format_datetime(paid, "zh_Hans") == "2026年12月6日 09:32"
    assert format_datetime(paid, "en") == "6 Dec 2026 09:32"
    assert format_date(datetime(2026, 12, 5, 16, 30, tzinfo=UTC), "en") == "6 Dec 2026"  # already the 6th there
    assert site_clock.iso(paid) == "2026-12-06T09:32:00+08:00"
    assert site_clock.wall_text(paid, "%H:%M") == "09:32"


def test_a_naive_time_is_the_sites_wall_time():
    site_clock.use_zone("America/New_York")
    wall = datetime(2026, 7, 1, 9, 0)
    assert site_clock.to_site(wall).utcoffset().total_seconds() == -4 * 3600
    assert site_clock.to_utc(wall) == datetime(2026, 7, 1, 13, 0, tzinfo=UTC)


def test_the_site_day_turns_at_local_midnight():
    site_clock.use_zone("Asia/Shanghai")
    assert site_clock.site_today(datetime(2026, 10, 31, 15, 59, 50, tzinfo=UTC)) == date(2026, 10, 31)
    assert site_clock.site_today(datetime(2026, 10, 31, 16, 0, 10, tzinfo=UTC)) == date(2026, 11, 1)
    start, end = site_clock.day_bounds(date(2026, 10, 31))
    assert (start, end) == (datetime(2026, 10, 30, 16, tzinfo=UTC), datetime(2026, 10, 31, 16, tzinfo=UTC))


@pytest.mark.parametrize("day, hours", [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25), (date(2026, 6, 1), 24)])
def test_a_london_day_is_23_or_25_hours_on_a_daylight_saving_change(day, hours):
    start, end = site_clock.day_bounds(day, site_clock.zone_named("Europe/London"))
    assert (end - start).total_seconds() == hours * 3600


SUNDAY_FROM_0930 = SiteInfo("S", "K", {"en": "Site"}, (OpeningHours(6, time(9, 30), time(18, 0)),),
                            frozenset({Feature.PAY_FEES}), frozenset())


def test_hours_check_at_0930_shanghai_on_a_utc_machine_says_open():
    site_clock.use_zone("Asia/Shanghai")
    now = datetime(2026, 12, 6, 1, 30, tzinfo=UTC)  # Sunday 09:30 in Shanghai, 01:30 on the machine
    assert SUNDAY_FROM_0930.is_open(now)
    assert Feature.PAY_FEES in SUNDAY_FROM_0930.available_features(now)
    assert not SUNDAY_FROM_0930.is_open(datetime(2026, 12, 6, 1, 29, tzinfo=UTC))
    assert not SUNDAY_FROM_0930.is_open(datetime(2026, 12, 6, 10, 0, tzinfo=UTC))  # 18:00 there: closed


@pytest.mark.parametrize("opens_utc, closes_utc, day", [
    ((8, 30), (17, 0), date(2026, 3, 22)),   # Sunday before the March change: GMT, local = UTC
    ((7, 30), (16, 0), date(2026, 3, 29)),   # the day of the change: BST from 01:00 UTC
    ((7, 30), (16, 0), date(2026, 10, 18)),  # still BST
    ((8, 30), (17, 0), date(2026, 10, 25)),  # the October change: GMT again from 01:00 UTC
])
def test_a_london_site_opens_and_closes_at_local_time_across_the_changes(opens_utc, closes_utc, day):
    site_clock.use_zone("Europe/London")
    site = SiteInfo("S", "K", {"en": "Site"}, (OpeningHours(6, time(8, 30), time(17, 0)),),
                    frozenset({Feature.PAY_FEES}), frozenset())

    def at(hm: tuple[int, int], minutes: int = 0) -> datetime:
        return datetime(day.year, day.month, day.day, hm[0], hm[1], tzinfo=UTC) + timedelta(minutes=minutes)

    assert not site.is_open(at(opens_utc, -1)) and site.is_open(at(opens_utc))
    assert site.is_open(at(closes_utc, -1)) and not site.is_open(at(closes_utc))


def test_an_unknown_zone_is_a_config_error_naming_site_timezone(tmp_path):
    site = tmp_path / "site.toml"
    site.write_text('[site]\ntimezone = "Asia/Shanghia"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        settings.load(tmp_path, str(site))
    assert "site.timezone" in str(err.value.params) and "Asia/Shanghia" in str(err.value.params)


def test_loading_the_settings_sets_the_site_zone(tmp_path):
    site = tmp_path / "site.toml"
    site.write_text('[site]\ntimezone = "Europe/London"\n', encoding="utf-8")
    settings.load(tmp_path, str(site))
    assert site_clock.site_zone().key == "Europe/London"
    assert site_clock.site_now().utcoffset() == site_clock.to_site(site_clock.now_utc()).utcoffset()


def test_log_lines_are_stamped_on_the_sites_clock_with_the_offset():
    import logging

    site_clock.use_zone("Asia/Shanghai")
    record = logging.LogRecord("kiosk", logging.WARNING, __file__, 1, "printer offline", None, None)
    record.created = datetime(2026, 12, 6, 1, 32, tzinfo=UTC).timestamp()
    line = site_clock.LogFormatter("%(asctime)s %(levelname)s %(message)s").format(record)
    assert line == "2026-12-06T09:32:00.000+08:00 WARNING printer offline"
