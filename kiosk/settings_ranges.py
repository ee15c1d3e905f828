"""The range of every setting, checked once when the settings load (start-up and `kiosk db check` alike).

`kiosk.settings` checks each file's keys and types; this module then checks the merged values: every number
against its range below, every text against a length, every list against a size, and the database URL
against the dialects the kiosk speaks. The first value outside its range stops the load with one translated
line (ConfigOutOfRange, E1010) naming the file that set it, the key and the allowed range. A test fails
when a numeric setting is added without a range here (docs/reliability.md, "Inputs from outside").
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import fields, is_dataclass
from typing import Any
from urllib.parse import urlsplit

from kiosk.domain.bounds import MAX_ITEM_CEILING_FEN
from kiosk.errors import ConfigError, ConfigOutOfRange, ConfigTextTooLong, DatabaseUrlUnsupported

MAX_ITEM = "limits.max_item_fen"  # a bound that is the site's configured per-item maximum

# dotted key -> (lowest, highest) allowed. "[]" is every item of a list, ".*" every value of a table.
RANGES: dict[str, tuple[float, float | str]] = {
    "limits.max_item_fen": (1, MAX_ITEM_CEILING_FEN),
    "database.start_wait_s": (1, 600),
    "database.lock_timeout_s": (1, 120),
    "database.statement_timeout_s": (1, 600),
    "database.clock_warning_s": (1, 3600),
    "backup.nightly_keep": (1, 366),
    "backup.weekly_keep": (0, 520),
    "backup.upgrade_ready_s": (5, 3600),
    "fleet.heartbeat_s": (5, 600),
    "fleet.silent_after_s": (60, 3600),
    "fleet.action_poll_s": (1, 600),
    "fleet.cash_box_notes": (1, 100000),
    "fleet.cash_box_warn_percent": (50, 100),
    "fleet.pin_lockouts_alert": (1, 1000),
    "ui.idle_timeout_s": (30, 3600),
    "ui.idle_warning_s": (20, 600),
    "ui.max_fps": (1, 240),
    "ui.idle_fps": (1, 60),
    "ui.idle_poll_fps": (1, 60),
    "ui.width": (0, 16384),
    "ui.height": (0, 16384),
    "ui.screen_diagonal_in": (5, 120),
    "ui.screen_width_mm": (0, 5000),
    "ui.rotation": (0, 270),
    "install.watchdog_s": (10, 600),
    "payments.card_replacement_fee_fen": (0, MAX_ITEM),
    "payments.top_up_amounts_fen[]": (1, MAX_ITEM),
    "bookings.capacity_per_slot": (1, 1000),
    "bookings.fees_fen.*": (0, MAX_ITEM),
    "devices.reader.baud": (300, 4_000_000),
    "devices.reader.poll_ms": (50, 5000),
    "devices.reader.removal_grace_ms": (0, 2000),
    "devices.printer.columns": (16, 128),
    "devices.printer.width_dots": (128, 4096),
    "devices.cash.address": (1, 255),
    "devices.cash.idle_poll_ms": (200, 60_000),
    "devices.gateway.order_timeout_s": (10, 3600),
    "devices.gateway.wechatpay.order_timeout_s": (10, 3600),
    "devices.gateway.alipay.order_timeout_s": (10, 3600),
    "devices.scanner.baud": (300, 4_000_000),
    "devices.out_of_service_after_s": (0, 3600),
    "invoices.workers": (1, 16),
}

# Texts: (shortest, longest) in characters; any text not named here is 0 to DEFAULT_TEXT.
DEFAULT_TEXT = (0, 500)
TEXTS: dict[str, tuple[int, int]] = {
    "site.code": (1, 32),
    "site.kiosk_code": (1, 32),
    "site.name_zh_hans": (1, 120),
    "site.name_zh_hant": (1, 120),
    "site.name_en": (1, 120),
    "site.timezone": (1, 64),
    "direct_debit.banks.*": (1, 60),
    "database.url": (0, 2000),
    "fleet.webhook_url": (0, 2000),
    "invoices.seller_tax_id": (0, 18),
    "invoices.clerk": (1, 20),
    "invoices.receipt_qr_template": (0, 250),
}
LONGEST_LIST = 64  # items in any list or table setting

SQLITE_SCHEMES = ("sqlite", "sqlite+pysqlite")
POSTGRES_SCHEMES = ("postgresql+psycopg",)


def leaves(value: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """(dotted key, pattern key as in RANGES/TEXTS, value) of every setting under a settings dataclass."""
    if is_dataclass(value) and not isinstance(value, type):
        for f in fields(value):
            if f.name in ("data_dir", "sources", "secrets"):
                continue
            dotted = f"{path}.{f.name}" if path else f.name
            yield from leaves(getattr(value, f.name), dotted)
        return
    yield path, path, value


def check(settings: Any, origin: Mapping[str, str]) -> None:
    """Raise ConfigOutOfRange / ConfigTextTooLong / DatabaseUrlUnsupported for the first value out of range.

    `origin` maps a dotted key (or a table above it) to the file that set it last."""
    max_item = settings.limits.max_item_fen
    _check_one(MAX_ITEM, MAX_ITEM, max_item, MAX_ITEM_CEILING_FEN, origin)  # first: the fees' bounds depend on it
    for dotted, _pattern, value in leaves(settings):
        if isinstance(value, tuple):
            _check_size(dotted, len(value), origin)
            for item in value:
                _check_one(dotted, f"{dotted}[]", item, max_item, origin)
        elif isinstance(value, dict):
            _check_size(dotted, len(value), origin)
            for key, item in value.items():
                _check_text(f"{dotted}.{key}", "", str(key), origin, (1, 60))
                _check_one(f"{dotted}.{key}", f"{dotted}.*", item, max_item, origin)
        else:
            _check_one(dotted, dotted, value, max_item, origin)
    check_database_url(settings.database.url, file_of("database.url", origin))


def file_of(dotted: str, origin: Mapping[str, str]) -> str:
    """The file that set `dotted` (or the nearest table above it that one file set)."""
    parts = dotted.split(".")
    while parts:
        found = origin.get(".".join(parts))
        if found:
            return found
        parts.pop()
    return "the packaged defaults"


def _check_one(dotted: str, pattern: str, value: Any, max_item: int, origin: Mapping[str, str]) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        if pattern not in RANGES:  # tests/unit/test_settings_ranges.py keeps every numeric setting listed
            return
        low, high = RANGES[pattern]
        top = max_item if high == MAX_ITEM else high
        if not (isinstance(value, int) or math.isfinite(value)) or not low <= value <= top:  # type: ignore[operator]
            raise ConfigOutOfRange(key=dotted, file=file_of(dotted, origin),
                                   value=_shown(value), low=_number(low), high=_number(top))
    elif isinstance(value, str):
        _check_text(dotted, pattern, value, origin)


def _check_text(dotted: str, pattern: str, value: str, origin: Mapping[str, str],
                span: tuple[int, int] | None = None) -> None:
    low, high = span or TEXTS.get(pattern, DEFAULT_TEXT)
    if not low <= len(value) <= high:
        raise ConfigTextTooLong(key=dotted, file=file_of(dotted, origin), length=len(value), low=low, high=high)
    if any(ord(c) < 32 and c not in "\t" for c in value):
        raise ConfigError(key=f"{file_of(dotted, origin)}: '{dotted}' holds control characters")


def _check_size(dotted: str, size: int, origin: Mapping[str, str]) -> None:
    if size > LONGEST_LIST:
        raise ConfigOutOfRange(key=f"{dotted} (items)", file=file_of(dotted, origin), value=str(size), low="0",
                               high=str(LONGEST_LIST))


def check_database_url(url: str, file: str) -> None:
    """Empty (SQLite in the data directory), sqlite:///PATH, or postgresql+psycopg://... with a valid port."""
    if not url:
        return
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep:
        raise DatabaseUrlUnsupported(key="database.url", file=file, reason="not a URL")
    if scheme in SQLITE_SCHEMES:
        if not rest.startswith("/") or len(rest) < 2:
            raise DatabaseUrlUnsupported(key="database.url", file=file, reason="sqlite needs sqlite:///PATH")
        return
    if scheme in ("postgres", "postgresql", "postgresql+psycopg2", "postgresql+pg8000", "postgresql+asyncpg"):
        raise DatabaseUrlUnsupported(key="database.url", file=file,
                                     reason=f"{scheme}:// needs a driver the kiosk does not ship")
    if scheme not in POSTGRES_SCHEMES:
        raise DatabaseUrlUnsupported(key="database.url", file=file, reason=f"{scheme[:20]}:// is not supported")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        reason = "the port is not a number from 1 to 65535" if "port" in str(exc).lower() else str(exc)[:120]
        raise DatabaseUrlUnsupported(key="database.url", file=file, reason=reason) from None
    if port is not None and not 1 <= port <= 65535:
        raise DatabaseUrlUnsupported(key="database.url", file=file, reason="the port is not a number from 1 to 65535")


def _number(value: float | str) -> str:
    return str(int(value)) if isinstance(value, (int, float)) and float(value).is_integer() else str(value)


def _shown(value: Any, width: int = 40) -> str:
    text = repr(value) if not isinstance(value, (int, float)) else str(value)
    return text if len(text) <= width else text[:width] + "…"
