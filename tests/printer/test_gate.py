"""The printer gate a flow asks before taking money."""
from __future__ import annotations

import pytest

from kiosk.ports import PaperState, PrinterStatus
from kiosk.receipts.gate import (
    REASON_COVER_OPEN,
    REASON_OFFLINE,
    REASON_PAPER_NEAR_END,
    REASON_PAPER_OUT,
    GateDecision,
    printer_gate,
)


@pytest.mark.parametrize("status, decision, reason", [
    (PrinterStatus(True, PaperState.OK), GateDecision.OK, ""),
    (PrinterStatus(True, PaperState.NEAR_END), GateDecision.NEAR_END, REASON_PAPER_NEAR_END),
    (PrinterStatus(True, PaperState.OUT), GateDecision.CANNOT_PRINT, REASON_PAPER_OUT),
    (PrinterStatus(True, PaperState.OK, cover_open=True), GateDecision.CANNOT_PRINT, REASON_COVER_OPEN),
    (PrinterStatus(False, PaperState.UNKNOWN, reason="no reply"), GateDecision.CANNOT_PRINT, REASON_OFFLINE),
    (None, GateDecision.CANNOT_PRINT, REASON_OFFLINE),
    # stopped at paper end / by the cover: the printer also says offline; the cause is what staff fix
    (PrinterStatus(False, PaperState.OUT, reason="paper out"), GateDecision.CANNOT_PRINT, REASON_PAPER_OUT),
    (PrinterStatus(False, PaperState.OK, cover_open=True), GateDecision.CANNOT_PRINT, REASON_COVER_OPEN),
    (PrinterStatus(False, PaperState.NEAR_END, reason="offline"), GateDecision.CANNOT_PRINT, REASON_OFFLINE),
])
def test_gate_decides_from_status(status, decision, reason):
    gate = printer_gate(status)
    assert (gate.decision, gate.reason) == (decision, reason)


def test_near_end_prints_but_alerts_staff():
    gate = printer_gate(PrinterStatus(True, PaperState.NEAR_END))
    assert gate.can_print and gate.staff_alert


def test_cannot_print_keeps_the_printers_words_for_staff():
    gate = printer_gate(PrinterStatus(False, PaperState.UNKNOWN, reason="no reply to DLE EOT 1"))
    assert not gate.can_print and gate.detail == "no reply to DLE EOT 1"


def test_a_printer_without_status_channel_is_let_through_with_a_note():
    gate = printer_gate(PrinterStatus(True, PaperState.UNKNOWN, reason="file device: no status channel"))
    assert gate.decision is GateDecision.OK and "file device" in gate.detail
