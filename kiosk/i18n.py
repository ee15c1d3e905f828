"""Translations: gettext catalogs per language, looked up by message id (English source text)."""
from __future__ import annotations

import gettext
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "kiosk"
LANGUAGES = ("zh_Hans", "zh_Hant", "en")
DEFAULT_LANGUAGE = "zh_Hans"


def N_(message: str) -> str:
    """Mark a string for extraction without translating it now."""
    return message


@lru_cache(maxsize=None)
def translations(language: str) -> gettext.NullTranslations:
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; expected one of {LANGUAGES}")
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)


def translate(message: str, language: str = DEFAULT_LANGUAGE, **params: object) -> str:
    """Translate a message id into `language` and fill its `{name}` placeholders."""
    text = translations(language).gettext(message)
    return text.format(**params) if params else text


# Babel locales used to format numbers and dates for each kiosk language.
BABEL_LOCALES = {"zh_Hans": "zh_Hans_CN", "zh_Hant": "zh_Hant_HK", "en": "en_GB"}


def format_money(fen: int, language: str = DEFAULT_LANGUAGE) -> str:
    """'¥1,234.50' grouped per language; integer fen in, exact (Decimal, never float)."""
    from babel.numbers import format_decimal

    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError("format_money needs integer fen")
    text = format_decimal(Decimal(abs(fen)) / 100, format="#,##0.00", locale=BABEL_LOCALES[language])
    return f"-¥{text}" if fen < 0 else f"¥{text}"


def format_date(value: date, language: str = DEFAULT_LANGUAGE) -> str:
    """A date the way the language writes it: '2026年10月3日', '3 Oct 2026'. An instant (datetime) gives the
    site's local day (kiosk.domain.site_clock), whatever the machine's TZ."""
    from babel.dates import format_date as babel_format_date

    if isinstance(value, datetime):
        value = _site_wall(value).date()
    return babel_format_date(value, "medium", locale=BABEL_LOCALES[language])


def format_weekday_date(value: date, language: str = DEFAULT_LANGUAGE) -> str:
    """The weekday and the day of the month, no year, for a near date in a row: '周三 12月9日', '週三 12月9日',
    'Wed 9 Dec'. An instant gives the site's local day."""
    from babel.dates import format_date as babel_format_date
    from babel.dates import format_skeleton

    if isinstance(value, datetime):
        value = _site_wall(value).date()
    locale = BABEL_LOCALES[language]
    return f"{babel_format_date(value, 'EEE', locale=locale)} {format_skeleton('MMMd', value, locale=locale)}"


def format_time(value: datetime, language: str = DEFAULT_LANGUAGE) -> str:
    """A 24-hour time on the site's wall clock: '14:05'."""
    from babel.dates import format_time as babel_format_time

    return babel_format_time(_site_wall(value).time(), "HH:mm", locale=BABEL_LOCALES[language])


def format_datetime(value: datetime, language: str = DEFAULT_LANGUAGE) -> str:
    """Date as format_date plus a 24-hour time, on the site's wall clock: '2026年10月3日 14:05'."""
    return f"{format_date(value, language)} {format_time(value, language)}"


def _site_wall(value: datetime) -> datetime:
    from kiosk.domain.site_clock import to_site  # imported late: kiosk.errors imports this module

    return to_site(value)
