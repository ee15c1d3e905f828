"""Layered TOML settings -> frozen dataclasses, validated once at start; errors name the file and key."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from kiosk.domain.bounds import DEFAULT_MAX_ITEM_FEN
from kiosk.errors import ConfigError
from kiosk.settings_toml import build, check_layer, merge, origins, read_toml

DEFAULT_FILE = Path(__file__).resolve().parents[1] / "config" / "default.toml"
TECHNICIAN_FILE = "technician.toml"
LAST_GOOD_FILE = "technician.last-good.toml"
SECRETS_FILE = "secrets.toml"
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
        data = read_toml(path)
        check_layer(data, Settings, "", path)
        merged = merge(merged, data)
        origins(data, str(path), origin)
    if db_url:
        merged = merge(merged, {"database": {"url": db_url}})
        origin["database.url"] = "--db-url"
    settings: Settings = build(Settings, merged, "")
    from kiosk.settings_rules import validate

    validate(settings, origin)
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
        origins(read_toml(Path(source)), source, leaves)
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
    data = read_toml(path)
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
        data = read_toml(path)
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
