"""The check before taking money: can the printer print a receipt now, and should staff be alerted?"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kiosk.i18n import N_
from kiosk.ports import PaperState, PrinterStatus


class GateDecision(StrEnum):
    OK = "ok"
    NEAR_END = "near_end"  # prints, but staff should load paper soon (raise a staff alert)
    CANNOT_PRINT = "cannot_print"  # tell the user before paying: continue without a receipt, or cancel


@dataclass(frozen=True)
class PrintGate:
    decision: GateDecision
    reason: str = ""  # a msgid for the screen (translate with kiosk.i18n.translate); empty when OK
    detail: str = ""  # the printer's own words, for staff and logs

    @property
    def can_print(self) -> bool:
        return self.decision is not GateDecision.CANNOT_PRINT

    @property
    def staff_alert(self) -> bool:
        return self.decision is not GateDecision.OK


REASON_OFFLINE = N_("The receipt printer is not responding.")
REASON_PAPER_OUT = N_("The receipt printer is out of paper.")
REASON_COVER_OPEN = N_("The receipt printer cover is open.")
REASON_PAPER_NEAR_END = N_("The receipt printer paper is running low.")
REASON_PAPER_UNKNOWN = N_("The receipt printer cannot report its paper.")


def printer_gate(status: PrinterStatus | None) -> PrintGate:
    """Decide from a fresh status (None = no printer configured or no answer) what the flow does.

    A printer whose connection has no status channel (a `file:` device) reports online with
    paper UNKNOWN: it is let through (OK) with a detail saying the paper was not checked.
    """
    if status is None:
        return PrintGate(GateDecision.CANNOT_PRINT, REASON_OFFLINE, "")
    # A printer stopped by an open cover or at paper end also reports itself offline (DLE EOT 1
    # bit 3): name the cause staff can fix rather than "not responding".
    if status.cover_open:
        return PrintGate(GateDecision.CANNOT_PRINT, REASON_COVER_OPEN, status.reason)
    if status.paper is PaperState.OUT:
        return PrintGate(GateDecision.CANNOT_PRINT, REASON_PAPER_OUT, status.reason)
    if not status.online:
        return PrintGate(GateDecision.CANNOT_PRINT, REASON_OFFLINE, status.reason)
    if status.paper is PaperState.NEAR_END:
        return PrintGate(GateDecision.NEAR_END, REASON_PAPER_NEAR_END, status.reason)
    if status.paper is PaperState.UNKNOWN:
        return PrintGate(GateDecision.OK, "", status.reason or REASON_PAPER_UNKNOWN)
    return PrintGate(GateDecision.OK, "", status.reason)
