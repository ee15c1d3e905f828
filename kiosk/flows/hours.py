"""Service hours in words for residents: the week's hours (equal days grouped), when the service opens again, and
which features need a sign-in (out of hours, the kiosk asks for none when none of them is open)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time

from kiosk.domain.site_clock import to_site
from kiosk.flows.records import Feature, ServiceStatus, SiteInfo
from kiosk.i18n import N_

WEEKDAYS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"),
            N_("Sunday"))

# The features a resident must sign in for (routes with Role.RESIDENT; tests/flows check the two agree).
PERSONAL_FEATURES = frozenset({Feature.PAY_FEES, Feature.TOP_UP, Feature.CARD_LOSS, Feature.BOOKINGS,
                               Feature.PARKING, Feature.DIRECT_DEBIT, Feature.RECORDS})

Translate = Callable[..., str]


def _day_hours(site: SiteInfo, weekday: int) -> tuple[tuple[time, time], ...]:
    return tuple(sorted((h.opens, h.closes) for h in site.hours if h.weekday == weekday and h.closes > h.opens))


def week_lines(site: SiteInfo, t: Translate) -> tuple[str, ...]:
    """One line per run of weekdays with the same hours: 'Monday–Friday 09:30–22:00', 'Sunday: closed'."""
    lines: list[str] = []
    day = 0
    while day < 7:
        hours = _day_hours(site, day)
        last = day
        while last + 1 < 7 and _day_hours(site, last + 1) == hours:
            last += 1
        days = t(WEEKDAYS[day]) if last == day else f"{t(WEEKDAYS[day])}–{t(WEEKDAYS[last])}"
        if hours:
            lines.append(f"{days} " + ", ".join(f"{o:%H:%M}–{c:%H:%M}" for o, c in hours))
        else:
            lines.append(t(N_("{days}: closed"), days=days))
        day = last + 1
    return tuple(lines)


def next_opening(site: SiteInfo, now: datetime) -> tuple[int, int, time] | None:
    """(days from today, weekday, opening time) of the next opening after `now`, on the site's wall clock
    (kiosk.domain.site_clock), within a week; None when the site has no hours at all."""
    now = to_site(now)
    for ahead in range(8):
        weekday = (now.weekday() + ahead) % 7
        for opens, _closes in _day_hours(site, weekday):
            if ahead or opens > now.time().replace(tzinfo=None):
                return ahead, weekday, opens
    return None


def opens_again(site: SiteInfo, now: datetime, t: Translate) -> str:
    """'Opens again today at 09:30' / 'tomorrow at' / 'on Monday at'; '' when there are no hours."""
    found = next_opening(site, now)
    if found is None:
        return ""
    ahead, weekday, opens = found
    at = f"{opens:%H:%M}"
    if ahead == 0:
        return t(N_("Opens again today at {time}"), time=at)
    if ahead == 1:
        return t(N_("Opens again tomorrow at {time}"), time=at)
    return t(N_("Opens again on {day} at {time}"), day=t(WEEKDAYS[weekday]), time=at)


def sign_in_offered(site: SiteInfo | None, now: datetime, status: ServiceStatus | None = None) -> bool:
    """True while some feature a resident signs in for is open and not switched off by staff (always before the
    site is known)."""
    if site is None:
        return True
    open_now = site.available_features(now) & PERSONAL_FEATURES
    return any(status is None or (status.switched_off_message(f) is None and not status.feature_blocked(f))
               for f in open_now)
