"""Layered TOML settings -> frozen dataclasses, validated once at start; errors name the file and key."""
from __future__ import annotations

import os
import re
import secrets
import tomllib
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

from kiosk.domain.bounds import DEFAULT_MAX_ITEM_FEN
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
    start_wait_s: int = 30  # how long a start waits for a busy (locked) database or a server that refuses
    # PostgreSQL: how long one statement waits for a row lock another kiosk holds, and how long any statement
    # may run, before it is cancelled and its unit of work rolled back whole (docs/fleet.md, "A stuck lock")
    lock_timeout_s: int = 10
    statement_timeout_s: int = 30
    # PostgreSQL: times come from the server's clock; a kiosk clock further off than this is logged and shown on
    # the maintenance page (kiosk.persistence.db_clock)
    clock_warning_s: int = 2


@dataclass(frozen=True)
class LimitSettings:
    max_item_fen: int = DEFAULT_MAX_ITEM_FEN  # the largest single amount from outside: a bill, a fee, a QR order


@dataclass(frozen=True)
class BackupSettings:
    """`kiosk db backup` (kiosk.persistence.backups): where, and how many are kept (the newest of each of the last
    `nightly_keep` days and of each of the last `weekly_keep` weeks); `kiosk upgrade` waits `upgrade_ready_s`."""

    dir: str = ""  # empty: <data dir>/backups
    nightly_keep: int = 7
    weekly_keep: int = 4
    upgrade_ready_s: int = 120


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
    rotation: int = 0  # the panel as mounted: 0, 90, 180 or 270 degrees clockwise (the kiosk session's cage -r)


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
    idle_poll_ms: int = 1000  # between payments: how often the event buffer is read (box removed while idle)


@dataclass(frozen=True)
class NetworkSettings:
    """One payment network of `devices.gateway.networks` (docs/payments.md, "Both networks at once")."""

    url: str = ""  # the network's base URL (its simulator's in the demo and tests)
    order_timeout_s: int = 120


@dataclass(frozen=True)
class GatewaySettings:
    driver: str
    url: str
    order_timeout_s: int
    # Empty: the single gateway above (`driver`, `url`). Else the networks this kiosk takes, in the order the
    # resident is offered them, each configured in its own table below (its driver is its name).
    networks: tuple[str, ...] = ()
    wechatpay: NetworkSettings = field(default_factory=NetworkSettings)
    alipay: NetworkSettings = field(default_factory=NetworkSettings)

    def configured(self) -> dict[str, tuple[str, int]]:
        """network -> (url, order timeout) of every gateway this kiosk talks to; {} when none has a URL."""
        if self.networks:
            return {n: (getattr(self, n).url, getattr(self, n).order_timeout_s) for n in self.networks}
        return {self.driver: (self.url, self.order_timeout_s)} if self.url else {}


@dataclass(frozen=True)
class ScannerSettings:
    """The payment-code scanner (devices/scanner): "serial" (virtual COM port) or "hid" (keyboard wedge)."""

    kind: str
    port: str  # a serial device path, or /dev/input/by-id/...-event-kbd for "hid"; empty: none attached
    baud: int


@dataclass(frozen=True)
class DeviceSettings:
    reader: ReaderSettings
    printer: PrinterSettings
    cash: CashSettings
    gateway: GatewaySettings
    scanner: ScannerSettings
    # a device down this long puts its features out of service (docs/deploy.md, "The self-healing ladder")
    out_of_service_after_s: float = 10.0


@dataclass(frozen=True)
class InvoiceSettings:
    """E-invoices (数电发票) through a tax provider. `tax` is the tax table: fee kind -> row (goods_name, tax_code,
    rate, policy, invoiceable); it is read loosely here and checked by kiosk.invoices.tax_table when invoicing
    starts, so a bad row stops invoicing alone (with one clear line), never the kiosk."""

    enabled: bool
    provider: str  # the adapter's name in devices/ (e.g. "nuonuo")
    url: str  # the provider's base URL (the simulator's in the demo)
    seller_tax_id: str  # the estate's unified social credit code (销方税号)
    clerk: str  # the drawer (开票员) as registered at the bureau
    workers: int  # invoice worker threads of this kiosk (the queue is shared by every kiosk of the estate)
    receipt_qr_template: str  # printed as a QR on the receipt of a payment with an invoice requested
    tax: dict[str, dict[str, object]]


@dataclass(frozen=True)
class FleetSettings:
    """The estate office: heartbeats, alerts, remote actions (kiosk.fleet, docs/office.md)."""

    heartbeat_s: int = 30
    silent_after_s: int = 120
    action_poll_s: int = 5
    cash_box_notes: int = 600
    cash_box_warn_percent: int = 80
    pin_lockouts_alert: int = 3
    webhook_url: str = ""


@dataclass(frozen=True)
class Secrets:
    """Kept in <data dir>/secrets.toml (mode 0600), generated on first start; never in the repo."""

    card_master_key: str  # hex, 16 bytes: diversifies per-card MIFARE keys
    card_mac_key: str  # hex, 32 bytes: MAC over card data
    gateway_secret: str  # shared HMAC secret with the payment gateway
    account_hash_key: str  # hex: keyed hash of bank account numbers
    # hex, 32 bytes: the estate's key of the audit chain (kiosk.persistence.chain). Every kiosk of an estate and
    # the office that verifies must hold the same one: docs/reliability.md, "The keyed chain".
    audit_key: str
    # The e-invoice provider's app key and secret (Nuonuo: from its open platform). Generated for the
    # simulator on first start; a production site writes the provider's own here (docs/invoices.md).
    invoice_app_key: str = ""
    invoice_app_secret: str = ""
    # The `wechatpay` gateway driver: path of its credentials file (JSON naming mchid, appid, merchant serial,
    # APIv3 key and the key files; docs/payments.md, "WeChat Pay (API v3)"). Empty: not configured.
    wechatpay_credentials: str = ""
    # Alipay (devices.gateway.driver = "alipay"): the app id and the PATHS of the merchant's RSA private key
    # and of Alipay's public key (PEM files, mode 0600 for the private one); docs/payments.md, "Alipay".
    alipay_app_id: str = ""
    alipay_app_private_key_file: str = ""
    alipay_public_key_file: str = ""
    # The key of the office's alert webhook (kiosk.fleet.notifier): the body is signed with HMAC-SHA256 under it.
    fleet_webhook_key: str = ""


@dataclass(frozen=True)
class InstallSettings:
    """What `kiosk install` lays down (kiosk.install, docs/deploy.md)."""

    user: str = "kiosk"  # the system user the kiosk runs as (groups dialout and lp only)
    watchdog_s: int = 30  # the service's WatchdogSec: the app pings every half of it
    # device -> "VID:PID" or "VID:PID:SERIAL" (hex, as lsusb shows them): udev names it /dev/kiosk-<device>
    usb: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    site: SiteSettings
    database: DatabaseSettings
    ui: UiSettings
    payments: PaymentSettings
    bookings: BookingSettings
    direct_debit: DirectDebitSettings
    devices: DeviceSettings
    invoices: InvoiceSettings
    limits: LimitSettings = field(default_factory=LimitSettings)
    backup: BackupSettings = field(default_factory=BackupSettings)
    install: InstallSettings = field(default_factory=InstallSettings)
    fleet: FleetSettings = field(default_factory=FleetSettings)
    data_dir: Path = field(default=Path("."))
    sources: tuple[str, ...] = ()
    secrets: Secrets | None = None


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "estate-kiosk"


def resolve_data_dir(cli_value: str | None) -> Path:
    raw = cli_value or os.environ.get("KIOSK_DATA_DIR")
    return Path(raw).expanduser().resolve() if raw else default_data_dir()


MAX_FILE_BYTES = 1024 * 1024  # a settings file is a few kilobytes; anything this large is not one


def _read_toml(path: Path) -> dict[str, Any]:
    """One TOML file as a table. Whatever the file holds (random bytes, another encoding, a huge number,
    nesting deeper than the parser goes), the answer is the table or one ConfigError naming the file."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError as exc:
        raise ConfigError(key=f"{path}: file not found") from exc
    except OSError as exc:
        raise ConfigError(key=f"{path}: {exc.strerror or exc}") from exc
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(key=f"{path}: larger than {MAX_FILE_BYTES} bytes, not a settings file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(key=f"{path}: not UTF-8 text (byte {exc.start})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(key=f"{path}: {exc}") from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer of thousands of digits
        raise ConfigError(key=f"{path}: not a settings file ({type(exc).__name__})") from None


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


def _origins(data: dict[str, Any], source: str, into: dict[str, str], path: str = "") -> None:
    """Record `source` as the file that set every key (and table) in `data`."""
    for key, value in data.items():
        dotted = f"{path}.{key}" if path else str(key)
        into[dotted] = source
        if isinstance(value, dict):
            _origins(value, source, into, dotted)


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


def _validate(settings: Settings, origin: dict[str, str]) -> None:
    """Every value in its range (kiosk.settings_ranges), then the rules between values; each error names the
    file that set the key."""
    from kiosk import settings_ranges
    from kiosk.i18n import LANGUAGES

    settings_ranges.check(settings, origin)

    def bad(key: str, rule: str) -> ConfigError:
        return ConfigError(key=f"{settings_ranges.file_of(key, origin)}: '{key}' {rule}")

    for day in WEEKDAYS:
        if not _HOURS.match(getattr(settings.site.hours, day)):
            raise bad(f"site.hours.{day}", "must look like 09:30-22:00 or be empty")
    if settings.ui.language not in LANGUAGES:
        raise bad("ui.language", f"must be one of {', '.join(LANGUAGES)}")
    unknown = set(settings.payments.methods) - {"card", "cash", "qr"}
    if unknown:
        raise bad("payments.methods", f"has unknown method(s) {sorted(unknown)}; known: card, cash, qr")
    if settings.ui.idle_timeout_s <= settings.ui.idle_warning_s:
        raise bad("ui.idle_timeout_s", f"must be above 'ui.idle_warning_s' ({settings.ui.idle_warning_s})")
    if settings.ui.orientation not in ("auto", "portrait", "landscape"):
        raise bad("ui.orientation", "must be one of auto, portrait, landscape")
    if settings.ui.rotation % 90:
        raise bad("ui.rotation", "must be 0, 90, 180 or 270")
    if (settings.ui.width > 0) != (settings.ui.height > 0):
        raise bad("ui.width", "and 'ui.height' must both be set or both be 0")
    if settings.devices.printer.encoding not in ("gb18030", "big5"):
        raise bad("devices.printer.encoding", "must be gb18030 or big5")
    if settings.fleet.webhook_url and not settings.fleet.webhook_url.startswith(("http://", "https://")):
        raise bad("fleet.webhook_url", "must be an http:// or https:// URL, or empty")
    if settings.devices.scanner.kind not in ("serial", "hid"):
        raise bad("devices.scanner.kind", "must be serial or hid")
    _validate_networks(settings.devices.gateway, bad)
    try:
        settings.site.receipt_qr_template.format(number="00000001", site=1)
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        raise bad("site.receipt_qr_template", f"may use only {{number}} and {{site}} ({type(exc).__name__})") from None
    from kiosk.domain.terms import BookingKind

    unknown_kinds = set(settings.bookings.fees_fen) - {str(k) for k in BookingKind}
    if unknown_kinds:
        raise bad("bookings.fees_fen", f"has unknown kind(s) {sorted(unknown_kinds)}")
    from kiosk.domain.terms import SiteFeature

    for key, names in (("site.features_not_offered", settings.site.features_not_offered),
                       ("site.hours.out_of_hours_features", settings.site.hours.out_of_hours_features)):
        unknown_features = set(names) - {str(f) for f in SiteFeature}
        if unknown_features:
            raise bad(key, f"has unknown feature(s) {sorted(unknown_features)}; "
                           f"known: {', '.join(str(f) for f in SiteFeature)}")
    from kiosk.domain.site_clock import zone_named

    try:
        zone_named(settings.site.timezone)
    except ConfigError:
        raise bad("site.timezone", f"{settings.site.timezone!r} is not a known time zone") from None


GATEWAY_NETWORKS = ("wechatpay", "alipay")


def _validate_networks(g: GatewaySettings, bad: Callable[[str, str], ConfigError]) -> None:
    """`devices.gateway.networks`: known names, each once, each with its URL."""
    unknown = [n for n in g.networks if n not in GATEWAY_NETWORKS]
    if unknown:
        raise bad("devices.gateway.networks", f"has unknown network(s) {unknown}; known: {', '.join(GATEWAY_NETWORKS)}")
    if len(set(g.networks)) != len(g.networks):
        raise bad("devices.gateway.networks", "names a network twice")
    for network in g.networks:
        if not getattr(g, network).url:
            raise bad(f"devices.gateway.{network}.url", f"must be set: '{network}' is in 'devices.gateway.networks'")


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
    origin: dict[str, str] = {}
    for path in layers:
        data = _read_toml(path)
        _check_layer(data, Settings, "", path)
        merged = _merge(merged, data)
        _origins(data, str(path), origin)
    if db_url:
        merged = _merge(merged, {"database": {"url": db_url}})
        origin["database.url"] = "--db-url"
    settings: Settings = _build(Settings, merged, "")
    _validate(settings, origin)
    from kiosk.domain import site_clock

    site_clock.use_zone(settings.site.timezone)  # the one clock of this process: see kiosk.domain.site_clock
    secrets_ = load_secrets(data_dir) if with_secrets else None
    from dataclasses import replace

    return replace(settings, data_dir=data_dir, sources=tuple(str(p) for p in layers), secrets=secrets_)


def value_sources(settings: Settings, db_url: str | None = None) -> dict[str, str]:
    """Dotted key -> the file (or --db-url) that set it last, for every leaf value: the layers named in
    `settings.sources` read again (`kiosk doctor`)."""
    origin: dict[str, str] = {}
    for source in settings.sources:
        leaves: dict[str, str] = {}
        _origins(_read_toml(Path(source)), source, leaves)
        origin.update(leaves)
    if db_url:
        origin["database.url"] = "--db-url"
    tables = {key.rsplit(".", 1)[0] for key in origin if "." in key}
    return {key: where for key, where in origin.items() if key not in tables}


def _invoice_credentials() -> dict[str, str]:
    return {"invoice_app_key": "SIM" + secrets.token_hex(4).upper(), "invoice_app_secret": secrets.token_hex(16)}


_OPTIONAL_SECRETS = ("wechatpay_credentials", "alipay_app_id", "alipay_app_private_key_file",
                     "alipay_public_key_file", "fleet_webhook_key")  # absent from secrets.toml: the field's default


def load_secrets(data_dir: Path) -> Secrets:
    """Read the site secrets, creating them (random, mode 0600) on first start."""
    path = data_dir / SECRETS_FILE
    if not path.exists():
        from kiosk.private_files import make_private_dir

        make_private_dir(data_dir)
        fresh = {"card_master_key": secrets.token_hex(16), "card_mac_key": secrets.token_hex(32),
                 "gateway_secret": secrets.token_hex(32), "account_hash_key": secrets.token_hex(32),
                 "audit_key": secrets.token_hex(32), **_invoice_credentials()}
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
    if "audit_key" not in data:  # secrets.toml from before the keyed audit chain: its key is added once
        with open(path, "a", encoding="utf-8") as fh:
            fh.write("\n# The estate's audit chain key: the same on every kiosk of the estate (docs/reliability.md).\n"
                     f'audit_key = "{secrets.token_hex(32)}"\n')
        data = _read_toml(path)
    if len(bytes.fromhex(_hex(data["audit_key"], path, "audit_key"))) < 16:
        raise ConfigError(key=f"{path}: 'audit_key' must be at least 32 hex digits")
    try:
        return Secrets(**{f.name: str(data[f.name]) for f in fields(Secrets)
                          if f.name in data or f.name not in _OPTIONAL_SECRETS})
    except KeyError as exc:
        raise ConfigError(key=f"{path}: missing key '{exc.args[0]}'") from exc


def _hex(value: Any, path: Path, name: str) -> str:
    text = str(value)
    try:
        bytes.fromhex(text)
    except ValueError:
        raise ConfigError(key=f"{path}: '{name}' must be hex digits") from None
    return text
