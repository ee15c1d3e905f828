"""View records for staff tools, the technician, the printer check before money and the demo panel."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

DEVICES = ("reader", "printer", "cash", "scanner")


@dataclass(frozen=True)
class PrinterGateView:
    """Can a receipt be printed now? Asked before the confirm step of every paying journey."""

    can_print: bool
    reason: str = ""  # msgid for the screen; empty when the printer is fine
    staff_alert: bool = False  # near end, out, offline: staff were alerted (device health)
    detail: str = ""  # the printer's own words, for staff


@dataclass(frozen=True)
class ReceiptSummary:
    """One receipt in the staff list."""

    receipt_number: str  # 8 digits, site-wide
    issued_at: datetime
    kind: str
    amount_fen: int
    method: str = ""
    voided: bool = False
    unit_label: str = ""


@dataclass(frozen=True)
class ImportFile:
    """A CSV file found on a removable drive (or the configured import folder)."""

    path: str
    name: str
    size_bytes: int


@dataclass(frozen=True)
class ImportOutcome:
    count: int
    total_fen: int
    problems: tuple[tuple[int, str], ...] = ()  # (line, reason) when nothing was imported


@dataclass(frozen=True)
class SerialPortView:
    device: str
    description: str = ""
    by_id: tuple[str, ...] = ()  # stable /dev/serial/by-id links pointing at it

    @property
    def best_path(self) -> str:
        return self.by_id[0] if self.by_id else self.device


@dataclass(frozen=True)
class DeviceChoice:
    """What the technician picks for one device: driver, port (a path or URL) and speed."""

    device: str  # reader / printer / cash / scanner
    driver: str  # the scanner's: its kind (serial / hid); its url: the port
    url: str
    baud: int = 0  # 0: the driver's default (or not a serial link)


@dataclass(frozen=True)
class DeviceOptions:
    """The current choice and what can be chosen for one device."""

    current: DeviceChoice
    drivers: tuple[str, ...]
    speeds: tuple[int, ...]


@dataclass(frozen=True)
class DeviceTestResult:
    """The outcome of testing one device for real; lines are (label msgid, value)."""

    device: str
    ok: bool
    lines: tuple[tuple[str, str], ...] = ()
    error_code: str = ""
    error_text: str = ""  # in English (logs, and the screen when no msgid came)
    error_message: str = ""  # the error's msgid, so the screen says it in the kiosk's language
    error_params: tuple[tuple[str, str], ...] = ()
    error_detail: str = ""  # the technical detail (a port, a driver's words), as it came


@dataclass(frozen=True)
class SavedConfig:
    path: str
    last_good_path: str  # "" when there was no previous file


@dataclass(frozen=True)
class DemoCard:
    """A card the demo panel can place on the simulated reader."""

    uid: str
    label: str
