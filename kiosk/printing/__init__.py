"""Printing on the kiosk side: the persisted print-job spooler, printer status events and alerts, receipt previews.

Only the port (kiosk.ports.ReceiptPrinter) is used here: no escpos, no serial, no devices/ import.

    spooler = PrintSpooler(supervisor, factory, kiosk_id, bus)   # supervisor: DeviceSupervisor[ReceiptPrinter]
    spooler.start()
    gate = spooler.gate()          # before taking money: OK / NEAR_END / CANNOT_PRINT
    spooler.kick()                 # after a unit of work that queued a receipt
    spooler.reprint(number, actor="staff:7")
    spooler.stop()
"""
from __future__ import annotations

from kiosk.printing.events import PrinterCondition, PrinterStatusChanged, ReceiptPrinted, StaffAlert, condition_of
from kiosk.printing.preview import Preview, receipt_preview
from kiosk.printing.spooler import PrintSpooler

__all__ = ["Preview", "PrintSpooler", "PrinterCondition", "PrinterStatusChanged", "ReceiptPrinted", "StaffAlert",
           "condition_of", "receipt_preview"]
