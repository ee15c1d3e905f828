"""FakeKioskServices' staff tools, printer check and technician calls (same in-memory state as the rest)."""
from __future__ import annotations

import tempfile
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from kiosk import errors
from kiosk.flows.records import DeviceState
from kiosk.flows.tool_records import (DeviceChoice, DeviceOptions, DeviceTestResult, ImportFile, ImportOutcome,
                                      PrinterGateView, ReceiptSummary, SavedConfig, SerialPortView)
from kiosk.i18n import N_

FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
PAPER_REASONS = {"out": N_("The receipt printer is out of paper."),
                 "near_end": N_("The receipt printer paper is running low."),
                 "offline": N_("The receipt printer is not responding.")}


class FakeToolsMixin:
    """Needs FakeKioskServices' receipts, printed, devices, audit, _lock, _enter, _staff, _receipt."""

    receipts: dict[str, dict[str, Any]]
    printed: list[str]
    devices: dict[str, Any]
    _lock: Any

    def _enter(self, method: str) -> None: ...
    def _staff(self, staff_id: str, action: str) -> None: ...
    def _receipt(self, household: str | None, kind: str, amount: int, method: str, note: str) -> str: ...

    def _init_tools(self) -> None:
        self.paper = "ok"  # test hook: "ok", "near_end", "out", "offline"
        self.import_csv: dict[str, tuple[int, int] | tuple[tuple[int, str], ...]] = {
            "/media/kiosk/USB/bills-2026-11.csv": (3, 45_600),
            "/media/kiosk/USB/bad-bills.csv": ((4, "unknown unit '9-9999'"),),
        }
        self.imported: list[str] = []
        self.tech_config = {"reader": DeviceChoice("reader", "pn532", "/dev/ttyUSB0", 115200),
                            "printer": DeviceChoice("printer", "escpos", "socket://192.168.1.50:9100"),
                            "cash": DeviceChoice("cash", "cctalk", "/dev/ttyUSB1", 9600),
                            "scanner": DeviceChoice("scanner", "serial", "/dev/ttyACM0", 9600)}
        self.saved_configs: list[tuple[DeviceChoice, ...]] = []
        self.alerts: list[str] = []

    # --- printer check -----------------------------------------------------------------------------
    def printer_gate(self) -> PrinterGateView:
        self._enter("printer_gate")
        if self.devices["printer"].state is DeviceState.DOWN and self.paper == "ok":
            return PrinterGateView(False, PAPER_REASONS["offline"], True, self.devices["printer"].detail)
        if self.paper == "ok":
            return PrinterGateView(True)
        self.alerts.append(self.paper)
        return PrinterGateView(self.paper == "near_end", PAPER_REASONS[self.paper], True, self.paper)

    # --- receipts ---------------------------------------------------------------------------------
    def _summary(self, number: str) -> ReceiptSummary:
        r = self.receipts[number]
        return ReceiptSummary(number, r["when"], r["kind"], r["amount"], r["method"], r["voided"],
                              r["household"] or "")

    def receipts_of_day(self, staff_id: str, day: date | None = None) -> tuple[ReceiptSummary, ...]:
        self._enter("receipts_of_day")
        day = day or self.now().date()
        with self._lock:
            self._staff(staff_id, "list receipts")
            return tuple(self._summary(n) for n in sorted(self.receipts, reverse=True)
                         if self.receipts[n]["when"].date() == day)

    def find_receipt(self, staff_id: str, receipt_number: str) -> ReceiptSummary:
        self._enter("find_receipt")
        number = receipt_number.strip().zfill(8)
        if number not in self.receipts:
            raise errors.NotFound(receipt_number)
        return self._summary(number)

    def receipt_png(self, staff_id: str, receipt_number: str) -> str:
        self._enter("receipt_png")
        from PIL import Image, ImageDraw, ImageFont

        summary = self.find_receipt(staff_id, receipt_number)
        img = Image.new("L", (384, 260), 255)
        draw = ImageDraw.Draw(img)
        font = ImageFont.truetype(FONT, 22) if Path(FONT).exists() else ImageFont.load_default()
        for i, text in enumerate(("翠湖花园 收据", f"No. {summary.receipt_number}", summary.kind,
                                  f"¥{summary.amount_fen / 100:.2f}", "作废 VOID" if summary.voided else "")):
            draw.text((16, 16 + i * 44), text, fill=0, font=font)
        out = Path(tempfile.gettempdir()) / f"fake-receipt-{summary.receipt_number}.png"
        img.save(out)
        return str(out)

    def staff_reprint(self, staff_id: str, receipt_number: str) -> None:
        self._enter("staff_reprint")
        summary = self.find_receipt(staff_id, receipt_number)
        self._staff(staff_id, f"reprint {summary.receipt_number}")
        self.printed.append(summary.receipt_number)

    # --- bill import --------------------------------------------------------------------------------
    def import_files(self, staff_id: str) -> tuple[ImportFile, ...]:
        self._enter("import_files")
        return tuple(ImportFile(p, p.rsplit("/", 1)[-1], 1024) for p in sorted(self.import_csv))

    def import_bills(self, staff_id: str, path: str) -> ImportOutcome:
        self._enter("import_bills")
        with self._lock:
            self._staff(staff_id, f"import {path}")
            outcome = self.import_csv.get(path)
            if outcome is None:
                raise errors.NotFound(path)
            if path in self.imported or (outcome and isinstance(outcome[0], tuple)):
                problems = outcome if path not in self.imported else ((2, "external_ref already imported"),)
                return ImportOutcome(0, 0, problems)  # type: ignore[arg-type]
            self.imported.append(path)
            count, total = outcome  # type: ignore[misc]
            return ImportOutcome(count, total)  # type: ignore[arg-type]

    # --- technician ---------------------------------------------------------------------------------
    def serial_ports(self) -> tuple[SerialPortView, ...]:
        self._enter("serial_ports")
        return (SerialPortView("/dev/ttyUSB0", "PN532 NFC", ("/dev/serial/by-id/usb-NXP_PN532-if00-port0",)),
                SerialPortView("/dev/ttyUSB1", "ccTalk bill validator", ()),
                SerialPortView("/dev/ttyS0", "ttyS0", ()))

    def device_options(self) -> tuple[DeviceOptions, ...]:
        self._enter("device_options")
        return (DeviceOptions(self.tech_config["reader"], ("pn532", "uid_line"), (9600, 57600, 115200, 230400)),
                DeviceOptions(self.tech_config["printer"], ("escpos",), ()),
                DeviceOptions(self.tech_config["cash"], ("cctalk",), (9600,)),
                DeviceOptions(self.tech_config["scanner"], ("serial", "hid"), (9600, 115200)))

    def test_device(self, staff_id: str, choice: DeviceChoice, timeout_s: float = 10.0) -> DeviceTestResult:
        self._enter("test_device")
        self._staff(staff_id, f"test {choice.device}")
        if not choice.url or choice.url == "/dev/ttyS0":
            return DeviceTestResult(choice.device, False, (), "E6001", "The device is not available.")
        lines = {"reader": ((N_("Firmware"), "PN532 v1.6"), (N_("Card UID"), "A1B2C3D4")),
                 "printer": ((N_("Online"), N_("Yes")), (N_("Paper"), "ok"), (N_("Test print"), N_("Sent"))),
                 "cash": (("product", "SIM-BV"), (N_("Notes accepted"), "¥10 ¥20 ¥50 ¥100")),
                 "scanner": ((N_("Payment code"), "13**************89"), (N_("Network"), N_("WeChat Pay")))}[choice.device]
        if choice.device == "printer":
            self.printed.append("TEST")
        return DeviceTestResult(choice.device, True, lines)

    def save_device_config(self, staff_id: str, choices: tuple[DeviceChoice, ...]) -> SavedConfig:
        self._enter("save_device_config")
        with self._lock:
            self._staff(staff_id, "save devices")
            previous = bool(self.saved_configs)
            for c in choices:
                self.tech_config[c.device] = replace(c)
            self.saved_configs.append(tuple(choices))
            return SavedConfig("/var/lib/kiosk/technician.toml",
                               "/var/lib/kiosk/technician.last-good.toml" if previous else "")
