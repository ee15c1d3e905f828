"""One clock for the whole kiosk: instants are UTC; whatever a person reads, and whatever depends on the local
day or hour (service hours, "today", the settlement day), is in the site's time zone (`site.timezone`), never
the machine's `TZ`.

The process uses one site zone, set once from the settings (`use_zone`, called by `kiosk.settings.load`).
Every other module asks here: `now_utc()` for an instant to store, `site_now()` / `site_today()` for the
local wall clock, `to_site()` before showing or printing an instant, `day_bounds()` for a local day as a UTC
range, `iso()` for exports and log lines (ISO 8601 with the offset), `wall_text()` for receipts and slips.
`use_source()` lets a fixed instant stand for the clock (journey tests). `use_database_offset()` corrects the
machine's clock by what a central database's clock says (kiosk.persistence.db_clock): times that other kiosks
compare (payments, receipts, settlement cut-offs, intents' ages, lock-outs) are then the database's, not this box's.

A naive datetime is taken as the site's wall time (tests and fixed clocks use them); an aware one is converted.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kiosk.errors import ConfigError

DEFAULT_ZONE = "Asia/Shanghai"
UTC = timezone.utc

_zone: ZoneInfo = ZoneInfo(DEFAULT_ZONE)
_source: Callable[[], datetime] | None = None  # a fixed clock (use_source); None = the real one
_offset = timedelta(0)  # the database's clock minus the machine's (use_database_offset)


def zone_named(name: str) -> ZoneInfo:
    """The IANA zone called `name`; an unknown name is a configuration error naming `site.timezone`."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError) as exc:  # OSError: a folder's name
        raise ConfigError(key=f"'site.timezone' {name!r} is not a known time zone") from exc


def use_zone(name: str) -> ZoneInfo:
    """Make `name` the site zone of this process (done once when the settings are loaded)."""
    global _zone
    _zone = zone_named(name)
    return _zone


def site_zone() -> ZoneInfo:
    return _zone


def use_source(source: Callable[[], datetime] | None) -> None:
    """Let `source` (returning aware instants) stand for the real clock, e.g. a fixed instant in a journey
    test; None goes back to the real clock. Every 'now' of the kiosk (stored, shown, compared) follows it."""
    global _source
    _source = source


def use_database_offset(seconds: float) -> None:
    """From now on, 'now' is the machine's clock plus `seconds` (the database's clock minus the machine's, as
    kiosk.persistence.db_clock measures it); 0 goes back to the machine's clock."""
    global _offset
    _offset = timedelta(seconds=seconds)


def database_offset_s() -> float:
    return _offset.total_seconds()


def machine_now() -> datetime:
    """The machine's own clock (or the source standing for it), without the database's correction."""
    return datetime.now(UTC) if _source is None else _source().astimezone(UTC)


def now_utc() -> datetime:
    """The instant to store: timezone-aware UTC. Every stored 'now' comes from here
    (kiosk.persistence.models.utcnow calls it): the machine's clock, corrected to the database's."""
    return machine_now() + _offset if _offset else machine_now()


def site_now() -> datetime:
    """The site's wall clock now (aware, in the site zone): the default clock of flows."""
    return now_utc().astimezone(_zone)


def to_site(value: datetime, zone: ZoneInfo | None = None) -> datetime:
    """`value` as the site's wall time (aware). A naive value is already the site's wall time."""
    zone = zone or _zone
    return value.replace(tzinfo=zone) if value.tzinfo is None else value.astimezone(zone)


def to_utc(value: datetime, zone: ZoneInfo | None = None) -> datetime:
    """`value` as an aware UTC instant. A naive value is read as the site's wall time."""
    return to_site(value, zone).astimezone(UTC)


def site_today(now: datetime | None = None) -> date:
    """The site's calendar day at `now` (default: now)."""
    return to_site(now if now is not None else now_utc()).date()


def day_bounds(day: date, zone: ZoneInfo | None = None) -> tuple[datetime, datetime]:
    """[start, end) of the site's local `day` as UTC instants (23 or 25 hours long on a DST change)."""
    zone = zone or _zone
    start = datetime.combine(day, time.min, zone)
    end = datetime.combine(day + timedelta(days=1), time.min, zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def iso(value: datetime, timespec: str = "seconds") -> str:
    """ISO 8601 in the site zone with its offset, e.g. '2026-10-03T14:05:00+08:00' (CSV, JSON, CLI)."""
    return to_site(value).isoformat(timespec=timespec)


class LogFormatter(logging.Formatter):
    """Log records stamped in the site zone with the offset ('2026-12-06T09:32:00.123+08:00'), not the machine's."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 (logging's name)
        return iso(datetime.fromtimestamp(record.created, UTC), "milliseconds")


def wall_text(value: datetime, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """`value` on the site's wall clock, strftime-formatted (receipts, slips, CLI tables)."""
    return to_site(value).strftime(fmt)
