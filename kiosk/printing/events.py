"""Events the print spooler publishes on the bus: printer status, receipts printed, staff alerts; the printer's condition."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kiosk.ports import PaperState, PrinterStatus
from kiosk.runtime.events import DeviceEvent


class PrinterCondition(StrEnum):
    """The printer's state as staff see it; every value but READY is a staff alert."""

    READY = "ready"
    PAPER_NEAR_END = "paper_near_end"
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    OFFLINE = "offline"


def condition_of(status: PrinterStatus) -> PrinterCondition:
    """In the order `kiosk.receipts.gate.printer_gate` decides: cover open, paper out (a printer stopped
    by either also reports offline), offline, near end. A printer without a status channel (online,
    paper unknown) is READY, as the gate lets it print."""
    if status.cover_open:
        return PrinterCondition.COVER_OPEN
    if status.paper is PaperState.OUT:
        return PrinterCondition.PAPER_OUT
    if not status.online:
        return PrinterCondition.OFFLINE
    if status.paper is PaperState.NEAR_END:
        return PrinterCondition.PAPER_NEAR_END
    return PrinterCondition.READY


@dataclass(frozen=True)
class PrinterStatusChanged(DeviceEvent):
    """The printer's status differs from the last one seen (online, paper or cover changed)."""

    status: PrinterStatus


@dataclass(frozen=True)
class ReceiptPrinted(DeviceEvent):
    """A queued job reached the paper and is marked printed (the UI can say "please take your receipt")."""

    receipt_number: str
    job_id: int
    is_copy: bool = False


@dataclass(frozen=True)
class StaffAlert(DeviceEvent):
    """Staff must act at the kiosk (load paper, close the cover, check the cable), or no longer need to.

    `message` is a msgid (translate with kiosk.i18n.translate); `detail` is the printer's own words.
    A DeviceEvent row with kind == `kind` is written for every alert raised and cleared.
    """

    kind: PrinterCondition
    message: str
    detail: str = ""
    cleared: bool = False
