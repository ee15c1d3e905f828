"""What an installed kiosk consists of: every file with its content, mode and owner, the user and the boot links.

The plan is computed from the site's settings ([ui] rotation, [install]) and the Python that runs the installer
(the kiosk's own virtualenv); it is the same whether it is laid down on / or under --root DIR.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from kiosk.errors import InstallListenInvalid, InstallUnknownDevice, InstallUsbIdInvalid
from kiosk.settings import SECRETS_FILE, Settings

TEMPLATES = Path(__file__).parent / "templates"
DOCS = Path(__file__).resolve().parents[2] / "docs"
DATA_DIR = Path("/var/lib/estate-kiosk")
SITE_DIR = Path("/etc/estate-kiosk")
SITE_FILE = SITE_DIR / "site.toml"
UNIT_DIR = Path("/etc/systemd/system")
GROUPS = ("dialout", "lp")  # the serial ports (reader, cash acceptor, scanner) and the printers; nothing else
START_LIMIT_INTERVAL_S = 600
START_LIMIT_BURST = 5
HARDWARE_WATCHDOG = "30s"
JOURNAL_MAX = "500M"
UNITS = ("estate-kiosk.service", "estate-kiosk-last-resort.service", "estate-kiosk-backup.service",
         "estate-kiosk-backup.timer")
OFFICE_UNITS = ("estate-office.service", "estate-fleet-watch.service")
OFFICE_LISTEN = "127.0.0.1:8750"  # behind the TLS proxy on the same server
KIOSK_ONLY = tuple(UNIT_DIR / name for name in UNITS) + (
    Path("/etc/udev/rules.d/70-estate-kiosk.rules"), Path("/etc/systemd/system.conf.d/estate-kiosk-watchdog.conf"),
    Path("/etc/systemd/logind.conf.d/estate-kiosk.conf"))
_LISTEN = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$")
USB_DEVICES = ("reader", "printer", "cash", "scanner")
_USB_ID = re.compile(r"^([0-9a-f]{4}):([0-9a-f]{4})(?::([A-Za-z0-9._-]{1,64}))?$")


@dataclass(frozen=True)
class FileSpec:
    path: Path  # absolute, on the target system
    content: str | None  # None: the file's content is not the installer's (secrets, a site file kept as edited)
    mode: int
    owner: str  # "root" or the kiosk user
    group: str


@dataclass(frozen=True)
class DirSpec:
    path: Path
    mode: int
    owner: str
    group: str


@dataclass(frozen=True)
class LinkSpec:
    path: Path  # the symlink
    target: Path  # what it points at


@dataclass(frozen=True)
class Plan:
    user: str
    dirs: tuple[DirSpec, ...]
    files: tuple[FileSpec, ...]
    links: tuple[LinkSpec, ...]
    units: tuple[Path, ...]  # the unit files written, for systemd-analyze verify
    groups: tuple[str, ...] = GROUPS  # the user's supplementary groups, exactly
    compositor: bool = True  # cage must be installed (a kiosk); the office server has no display
    absent: tuple[Path, ...] = ()  # files that must not be there (a kiosk's on the office server)


def render(name: str, values: dict[str, str]) -> str:
    text = (TEMPLATES / f"{name}.in").read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    return text


def cage_rotation(degrees: int) -> str:
    """[ui] rotation as cage's flags: one -r per quarter turn clockwise."""
    return " -r" * ((degrees // 90) % 4)


def udev_rules(settings: Settings, user: str, source: str) -> str:
    lines = [render("udev.rules", {})]
    for device, value in sorted(settings.install.usb.items()):
        if device not in USB_DEVICES:
            raise InstallUnknownDevice(file=source, device=device, known=", ".join(USB_DEVICES))
        parts = value.strip().split(":", 2)
        normal = ":".join([p.lower() for p in parts[:2]] + parts[2:])
        match = _USB_ID.match(normal)
        if not match:
            raise InstallUsbIdInvalid(file=source, device=device, value=value)
        vendor, product, serial = match.groups()
        ids = f'ATTRS{{idVendor}}=="{vendor}", ATTRS{{idProduct}}=="{product}"'
        if serial:
            ids += f', ATTRS{{serial}}=="{serial}"'
        name = f"kiosk-{device}"
        lines.append(f"# {device}: {value}")
        if device == "printer":  # the usblp character device, and the raw USB device for usb:VID:PID printers
            lines.append(f'SUBSYSTEM=="usbmisc", KERNEL=="lp[0-9]*", {ids}, SYMLINK+="{name}", GROUP="lp", MODE="0660"')
            usb_ids = ids.replace("ATTRS{", "ATTR{")
            lines.append(f'SUBSYSTEM=="usb", ENV{{DEVTYPE}}=="usb_device", {usb_ids}, GROUP="lp", MODE="0660"')
        elif device == "scanner":  # a virtual COM port scanner, or a keyboard-wedge one read as an input device
            lines.append(f'SUBSYSTEM=="tty", {ids}, SYMLINK+="{name}", GROUP="dialout", MODE="0660"')
            lines.append(f'SUBSYSTEM=="input", KERNEL=="event*", {ids}, SYMLINK+="{name}-event", OWNER="{user}", '
                         'MODE="0600"')
        else:
            lines.append(f'SUBSYSTEM=="tty", {ids}, SYMLINK+="{name}", GROUP="dialout", MODE="0660"')
    return "\n".join(lines) + "\n"


def build(settings: Settings, *, python: str | None = None, usb_source: str = "the site config") -> Plan:
    user = settings.install.user
    values = {
        "USER": user, "DATA": str(DATA_DIR), "SITE": str(SITE_FILE), "DOCS": str(DOCS),
        "PYTHON": python or sys.executable, "WATCHDOG": str(settings.install.watchdog_s),
        "ROTATE": cage_rotation(settings.ui.rotation), "INTERVAL": str(START_LIMIT_INTERVAL_S),
        "BURST": str(START_LIMIT_BURST), "HW_WATCHDOG": HARDWARE_WATCHDOG, "JOURNAL_MAX": JOURNAL_MAX,
    }
    units = tuple(UNIT_DIR / name for name in UNITS)
    files = [FileSpec(path, render(path.name, values), 0o644, "root", "root") for path in units]
    files += [
        FileSpec(Path("/etc/systemd/journald.conf.d/estate-kiosk.conf"), render("journald.conf", values), 0o644,
                 "root", "root"),
        FileSpec(Path("/etc/systemd/system.conf.d/estate-kiosk-watchdog.conf"), render("watchdog.conf", values),
                 0o644, "root", "root"),
        FileSpec(Path("/etc/systemd/logind.conf.d/estate-kiosk.conf"), render("logind.conf", values), 0o644,
                 "root", "root"),
        FileSpec(Path("/etc/udev/rules.d/70-estate-kiosk.rules"), udev_rules(settings, user, usb_source), 0o644,
                 "root", "root"),
        FileSpec(SITE_FILE, None, 0o640, "root", user),  # the kiosk reads it, only root changes it
        FileSpec(DATA_DIR / SECRETS_FILE, None, 0o600, user, user),  # the kiosk's alone
    ]
    dirs = (DirSpec(SITE_DIR, 0o750, "root", user), DirSpec(DATA_DIR, 0o700, user, user))
    links = (
        LinkSpec(UNIT_DIR / "graphical.target.wants" / "estate-kiosk.service", UNIT_DIR / "estate-kiosk.service"),
        LinkSpec(UNIT_DIR / "timers.target.wants" / "estate-kiosk-backup.timer",
                 UNIT_DIR / "estate-kiosk-backup.timer"),
        LinkSpec(UNIT_DIR / "default.target", Path("/lib/systemd/system/graphical.target")),
    )
    return Plan(user, dirs, tuple(files), links, units)


def build_office(settings: Settings, *, python: str | None = None, listen: str = OFFICE_LISTEN) -> Plan:
    """The estate office server: `kiosk office` and `kiosk fleet watch` as hardened services of the same user, the
    same site file and data dir; no groups, no display, no kiosk session, udev names, watchdog or backup timer
    (PostgreSQL is backed up there by pg_dump/PITR, docs/deploy.md). Enabled by the admin once the database URL
    is in the site file (docs/office.md), so no boot links here."""
    match = _LISTEN.match(listen)
    if not match or not 1 <= int(match.group(2)) <= 65535:
        raise InstallListenInvalid(value=listen)
    user = settings.install.user
    values = {"USER": user, "DATA": str(DATA_DIR), "SITE": str(SITE_FILE), "DOCS": str(DOCS),
              "PYTHON": python or sys.executable, "LISTEN": listen}
    units = tuple(UNIT_DIR / name for name in OFFICE_UNITS)
    files = [FileSpec(path, render(path.name, values), 0o644, "root", "root") for path in units]
    files += [FileSpec(SITE_FILE, None, 0o640, "root", user), FileSpec(DATA_DIR / SECRETS_FILE, None, 0o600, user, user)]
    dirs = (DirSpec(SITE_DIR, 0o750, "root", user), DirSpec(DATA_DIR, 0o700, user, user))
    return Plan(user, dirs, tuple(files), (), units, groups=(), compositor=False, absent=KIOSK_ONLY)
