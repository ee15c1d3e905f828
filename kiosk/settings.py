"""Layered TOML settings -> frozen dataclasses, validated once at start; errors name the file and key."""
from __future__ import annotations

import os
import re
import secrets
import tomllib
import types
import typing
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

from kiosk.errors import ConfigError

DEFAULT_FILE = Path(__file__).resolve().parents[1] / "config" / "default.toml"
TECHNICIAN_FILE = "technician.toml"
LAST_GOOD_FILE = "technician.last-good.toml"
SECRETS_FILE = "secrets.toml"
_HOURS = re.compile(r"^(?:([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d))?$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class HoursSettings:
    mon: str
    tue: str
    wed: str
    thu: str
    fri: str
    sat: str
    sun: str
    out_of_hours_features: tuple[str, ...] = ()

    def window(self, weekday: int) -> tuple[int, int] | None:
        """(open, close) in minutes after midnight for Monday=0 .. Sunday=6; None when closed."""
        text = getattr(self, WEEKDAYS[weekday])
        if not text:
            return None
        start, end = text.split("-")
        return _minutes(start), _minutes(end)


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


@dataclass(frozen=True)
class SiteSettings:
    code: str
    name_zh_hans: str
    name_zh_hant: str
    name_en: str
    timezone: str
    kiosk_code: str
    receipt_qr_template: str
    hours: HoursSettings
    features_not_offered: tuple[str, ...] = ()  # kiosk.domain.terms.SiteFeature values the site does not offer

    def names(self) -> dict[str, str]:
        return {"zh_Hans": self.name_zh_hans, "zh_Hant": self.name_zh_hant, "en": self.name_en}


@dataclass(frozen=True)
class DatabaseSettings:
    url: str


@dataclass(frozen=True)
class UiSettings:
    language: str
    fullscreen: bool
    borderless: bool
    show_cursor: bool
    idle_timeout_s: int
    idle_warning_s: int
    font_path: str
    large_text: bool
    high_contrast: bool
    max_fps: int
    spoken_prompts: bool
    idle_fps: int = 2  # when nobody touches it; input wakes the window at once on X11
    idle_poll_fps: int = 12  # the same without X11, where idle frames poll for touches
    orientation: str = "auto"  # auto (the screen's own), portrait (1080x1920) or landscape (1920x1080)
    width: int = 0  # 0 and 0: the reference size of `orientation`, shrunk to fit the screen (screens/screen_fit.py)
    height: int = 0
    screen_diagonal_in: float = 21.5  # the panel's diagonal: touch targets are 15 mm on it
    screen_width_mm: float = 0  # the panel's physical width when known exactly (overrides the diagonal)


@dataclass(frozen=True)
class PaymentSettings:
    methods: tuple[str, ...]
    card_replacement_fee_fen: int
    top_up_amounts_fen: tuple[int, ...]


@dataclass(frozen=True)
class BookingSettings:
    capacity_per_slot: int
    fees_fen: dict[str, int]  # booking kind -> installation fee


@dataclass(frozen=True)
class DirectDebitSettings:
    banks: dict[str, str]  # bank code -> name shown on screen and receipt
    require_luhn: bool


@dataclass(frozen=True)
class ReaderSettings:
    driver: str
    url: str
    baud: int
    poll_ms: int = 500  # how long one "wait for a card" asks the chip to wait
    removal_grace_ms: int = 300  # a card is reported gone only after this long without answering


@dataclass(frozen=True)
class PrinterSettings:
    driver: str
    url: str
    profile: str
    columns: int
    width_dots: int
    encoding: str


@dataclass(frozen=True)
class CashSettings:
    driver: str
    url: str
    address: int
    enabled: bool


@dataclass(frozen=True)
class GatewaySettings:
    driver: str
    url: str
    order_timeout_s: int


@dataclass(frozen=True)
class DeviceSettings:
    reader: ReaderSettings
    printer: PrinterSettings
    cash: CashSettings
    gateway: GatewaySettings


@dataclass(frozen=True)
class Secrets:
    """Kept in <data dir>/secrets.toml (mode 0600), generated on first start; never in the repo."""

    card_master_key: str  # hex, 16 bytes: diversifies per-card MIFARE keys
    card_mac_key: str  # hex, 32 bytes: MAC over card data
    gateway_secret: str  # shared HMAC secret with the payment gateway
    account_hash_key: str  # hex: keyed hash of bank account numbers
    # The e-invoice provider's app key and secret (Nuonuo: from its open platform). Generated for the
    # simulator on first start; a production site writes the provider's own here (docs/invoices.md).
    invoice_app_key: str = ""
    invoice_app_secret: str = ""


@dataclass(frozen=True)
class Settings:
    site: SiteSettings
    database: DatabaseSettings
    ui: UiSettings
    payments: PaymentSettings
    bookings: BookingSettings
    direct_debit: DirectDebitSettings
    devices: DeviceSettings
    data_dir: Path = field(default=Path("."))
    sources: tuple[str, ...] = ()
    secrets: Secrets | None = None


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "estate-kiosk"


def resolve_data_dir(cli_value: str | None) -> Path:
    raw = cli_value or os.environ.get("KIOSK_DATA_DIR")
    return Path(raw).expanduser().resolve() if raw else default_data_dir()


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(key=f"{path}: file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(key=f"{path}: {exc}") from exc
    except OSError as exc:
        raise ConfigError(key=f"{path}: {exc.strerror}") from exc


def _check_layer(data: dict[str, Any], cls: type, path: str, source: Path) -> None:
    """Refuse unknown keys and wrong types in one file, naming the file and the dotted key."""
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls) if f.name not in ("data_dir", "sources", "secrets")}
    for key, value in data.items():
        dotted = f"{path}.{key}" if path else key
        if key not in known:
            raise ConfigError(key=f"{source}: unknown key '{dotted}'")
        expected = hints[key]
        if is_dataclass(expected):
            if not isinstance(value, dict):
                raise ConfigError(key=f"{source}: '{dotted}' must be a table")
            _check_layer(value, expected, dotted, source)  # type: ignore[arg-type]
        elif not _type_ok(value, expected):
            raise ConfigError(key=f"{source}: '{dotted}' must be {_type_name(expected)}, got {type(value).__name__}")


def _type_ok(value: Any, expected: Any) -> bool:
    origin = typing.get_origin(expected)
    if origin is dict:
        key_type, value_type = typing.get_args(expected)
        return isinstance(value, dict) and all(_type_ok(k, key_type) and _type_ok(v, value_type)
                                               for k, v in value.items())
    if origin is tuple:
        inner = typing.get_args(expected)[0]
        return isinstance(value, list) and all(_type_ok(v, inner) for v in value)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected is bool:
        return isinstance(value, bool)
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected is str:
        return isinstance(value, str)
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, a) for a in typing.get_args(expected))
    return isinstance(value, expected)


def _type_name(expected: Any) -> str:
    if typing.get_origin(expected) is tuple:
        return f"a list of {_type_name(typing.get_args(expected)[0])}"
    if typing.get_origin(expected) is dict:
        return f"a table of {_type_name(typing.get_args(expected)[1])}"
    return {int: "an integer", bool: "true or false", str: "a string", float: "a number"}.get(expected, str(expected))


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _build(cls: type, data: dict[str, Any], path: str) -> Any:
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if f.name in ("data_dir", "sources", "secrets"):
            continue
        dotted = f"{path}.{f.name}" if path else f.name
        if f.name not in data:
            raise ConfigError(key=f"missing key '{dotted}'")
        value = data[f.name]
        expected = hints[f.name]
        if is_dataclass(expected):
            kwargs[f.name] = _build(expected, value, dotted)  # type: ignore[arg-type]
        elif typing.get_origin(expected) is tuple:
            kwargs[f.name] = tuple(value)
        elif typing.get_origin(expected) is dict:
            kwargs[f.name] = dict(value)
        else:
            kwargs[f.name] = value
    return cls(**kwargs)


def _validate(settings: Settings) -> None:
    from kiosk.i18n import LANGUAGES

    for day in WEEKDAYS:
        if not _HOURS.match(getattr(settings.site.hours, day)):
            raise ConfigError(key=f"'site.hours.{day}' must look like 09:30-22:00 or be empty")
    if settings.ui.language not in LANGUAGES:
        raise ConfigError(key=f"'ui.language' must be one of {', '.join(LANGUAGES)}")
    unknown = set(settings.payments.methods) - {"card", "cash", "qr"}
    if unknown:
        raise ConfigError(key=f"'payments.methods' has unknown method(s) {sorted(unknown)}")
    if settings.ui.idle_warning_s < 20 or settings.ui.idle_timeout_s <= settings.ui.idle_warning_s:
        raise ConfigError(key="'ui.idle_warning_s' must be >= 20 and below 'ui.idle_timeout_s'")
    if settings.ui.orientation not in ("auto", "portrait", "landscape"):
        raise ConfigError(key="'ui.orientation' must be one of auto, portrait, landscape")
    if settings.ui.screen_diagonal_in <= 0 or (settings.ui.width > 0) != (settings.ui.height > 0):
        raise ConfigError(key="'ui.screen_diagonal_in' must be positive; 'ui.width' and 'ui.height' both set or both 0")
    if min(settings.ui.max_fps, settings.ui.idle_fps, settings.ui.idle_poll_fps) <= 0:
        raise ConfigError(key="'ui.max_fps', 'ui.idle_fps' and 'ui.idle_poll_fps' must be positive")
    reader = settings.devices.reader
    if not 50 <= reader.poll_ms <= 5000 or not 0 <= reader.removal_grace_ms <= 2000:
        raise ConfigError(key="'devices.reader.poll_ms' must be 50-5000 and 'devices.reader.removal_grace_ms' 0-2000")
    if settings.devices.printer.encoding not in ("gb18030", "big5"):
        raise ConfigError(key="'devices.printer.encoding' must be gb18030 or big5")
    if any(a <= 0 for a in settings.payments.top_up_amounts_fen):
        raise ConfigError(key="'payments.top_up_amounts_fen' must be positive amounts in fen")
    from kiosk.domain.terms import BookingKind

    unknown_kinds = set(settings.bookings.fees_fen) - {str(k) for k in BookingKind}
    if unknown_kinds:
        raise ConfigError(key=f"'bookings.fees_fen' has unknown kind(s) {sorted(unknown_kinds)}")
    from kiosk.domain.terms import SiteFeature

    for key, names in (("site.features_not_offered", settings.site.features_not_offered),
                       ("site.hours.out_of_hours_features", settings.site.hours.out_of_hours_features)):
        unknown_features = set(names) - {str(f) for f in SiteFeature}
        if unknown_features:
            raise ConfigError(key=f"'{key}' has unknown feature(s) {sorted(unknown_features)}; "
                                  f"known: {', '.join(str(f) for f in SiteFeature)}")
    from kiosk.domain.site_clock import zone_named

    zone_named(settings.site.timezone)  # an unknown name is a ConfigError naming 'site.timezone'


def load_for(data_dir: str | None, site_file: str | None, db_url: str | None = None,
             with_secrets: bool = True) -> Settings:
    """Settings as the command line names them: a --data-dir (or None for the default) and a --config."""
    return load(resolve_data_dir(data_dir), site_file, db_url=db_url, with_secrets=with_secrets)


def load(data_dir: Path, site_file: str | None = None, *, db_url: str | None = None,
         with_secrets: bool = True) -> Settings:
    """Packaged defaults -> site file (--config or KIOSK_CONFIG) -> technician overrides."""
    layers: list[Path] = [DEFAULT_FILE]
    site = site_file or os.environ.get("KIOSK_CONFIG")
    if site:
        layers.append(Path(site).expanduser())
    tech = data_dir / TECHNICIAN_FILE
    if tech.exists():
        layers.append(tech)
    merged: dict[str, Any] = {}
    for path in layers:
        data = _read_toml(path)
        _check_layer(data, Settings, "", path)
        merged = _merge(merged, data)
    if db_url:
        merged = _merge(merged, {"database": {"url": db_url}})
    settings: Settings = _build(Settings, merged, "")
    _validate(settings)
    from kiosk.domain import site_clock

    site_clock.use_zone(settings.site.timezone)  # the one clock of this process: see kiosk.domain.site_clock
    secrets_ = load_secrets(data_dir) if with_secrets else None
    from dataclasses import replace

    return replace(settings, data_dir=data_dir, sources=tuple(str(p) for p in layers), secrets=secrets_)


def _invoice_credentials() -> dict[str, str]:
    return {"invoice_app_key": "SIM" + secrets.token_hex(4).upper(), "invoice_app_secret": secrets.token_hex(16)}


def load_secrets(data_dir: Path) -> Secrets:
    """Read the site secrets, creating them (random, mode 0600) on first start."""
    path = data_dir / SECRETS_FILE
    if not path.exists():
        from kiosk.private_files import make_private_dir

        make_private_dir(data_dir)
        fresh = {"card_master_key": secrets.token_hex(16), "card_mac_key": secrets.token_hex(32),
                 "gateway_secret": secrets.token_hex(32), "account_hash_key": secrets.token_hex(32),
                 **_invoice_credentials()}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write("# Site secrets: keep private, back up with the database.\n")
            fh.writelines(f'{k} = "{v}"\n' for k, v in fresh.items())
    data = _read_toml(path)
    missing = {k: v for k, v in _invoice_credentials().items() if k not in data}
    if missing:  # a secrets file from before invoicing: add the simulator's credentials, keep the rest
        ends_clean = path.read_bytes().endswith(b"\n")
        with open(path, "a", encoding="utf-8") as fh:
            fh.write("" if ends_clean else "\n")
            fh.writelines(f'{k} = "{v}"\n' for k, v in missing.items())
        data = {**data, **missing}
    try:
        return Secrets(**{f.name: str(data[f.name]) for f in fields(Secrets)})
    except KeyError as exc:
        raise ConfigError(key=f"{path}: missing key '{exc.args[0]}'") from exc
