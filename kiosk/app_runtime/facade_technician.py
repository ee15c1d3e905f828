"""The facade's technician half: serial ports, driver/port/speed per device, real device tests, atomic save.

A device under test that is exactly the one running (same driver, port, speed) is tested through its
supervisor's worker, so the running kiosk keeps its port; any other choice is opened on its own, tested
and closed again. Tests never raise for a device fault: the result names what failed.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kiosk.app_runtime import technician_config
from kiosk.domain import site_clock
from kiosk.domain.receipt import ReceiptDocument, ReceiptKind
from kiosk.domain.terms import StaffRole
from kiosk.errors import ConfigError, KioskError
from kiosk.flows.tool_records import (DEVICES, DeviceChoice, DeviceOptions, DeviceTestResult, SavedConfig,
                                      SerialPortView)
from kiosk.i18n import N_

if TYPE_CHECKING:
    from kiosk.app_runtime.runtime import KioskRuntime

log = logging.getLogger(__name__)
PAPER_WORDS = {"ok": N_("Paper loaded"), "near_end": N_("Running low"), "out": N_("Out of paper"), "unknown": N_("Unknown")}
SPEEDS = {"reader": (9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600), "printer": (), "cash": (9600,),
          "scanner": (9600, 19200, 38400, 57600, 115200)}  # the scanner's: serial kind only (hid has none)
NETWORK_WORDS = {"wechat": N_("WeChat Pay"), "alipay": N_("Alipay")}


class TechnicianFacade:
    """Mixed into RuntimeKioskServices; needs `self.rt` and StaffFacade's `_staff`."""

    rt: KioskRuntime
    _staff: Callable[..., Any]

    def serial_ports(self) -> tuple[SerialPortView, ...]:
        from devices.card_reader.transport import list_serial_ports

        return tuple(SerialPortView(p.device, p.description, tuple(p.by_id)) for p in list_serial_ports())

    def device_options(self) -> tuple[DeviceOptions, ...]:
        from devices.card_reader.registry import driver_names
        from devices.cash.registry import DRIVERS as CASH_DRIVERS
        from devices.printer.registry import DRIVERS as PRINTER_DRIVERS
        from devices.scanner.registry import offered_kinds

        d = self.rt.settings.devices
        return (DeviceOptions(DeviceChoice("reader", d.reader.driver, d.reader.url, d.reader.baud),
                              tuple(driver_names()), SPEEDS["reader"]),
                DeviceOptions(DeviceChoice("printer", d.printer.driver, d.printer.url), tuple(sorted(PRINTER_DRIVERS)),
                              SPEEDS["printer"]),
                DeviceOptions(DeviceChoice("cash", d.cash.driver, d.cash.url if d.cash.enabled else ""),
                              tuple(CASH_DRIVERS), SPEEDS["cash"]),
                DeviceOptions(DeviceChoice("scanner", d.scanner.kind, d.scanner.port, d.scanner.baud),
                              tuple(k for k, why in offered_kinds().items() if not why), SPEEDS["scanner"]))

    def _running(self, choice: DeviceChoice) -> bool:
        current = next(o.current for o in self.device_options() if o.current.device == choice.device)
        same = (current.driver, current.url) == (choice.driver, choice.url)
        if choice.device in ("reader", "scanner"):
            same = same and current.baud == (choice.baud or current.baud)
        return same and choice.device in self.rt.supervisors

    def test_device(self, staff_id: str, choice: DeviceChoice, timeout_s: float = 10.0) -> DeviceTestResult:
        self._staff(staff_id, StaffRole.TECHNICIAN, StaffRole.ADMIN)
        if choice.device not in DEVICES:
            raise ConfigError(key=f"devices.{choice.device}")
        test = {"reader": self._test_reader, "printer": self._test_printer, "cash": self._test_cash,
                "scanner": self._test_scanner}[choice.device]
        try:
            if self._running(choice):
                lines = self.rt.supervisors[choice.device].submit(lambda dev: test(dev, timeout_s)).result(timeout_s + 5)
            else:
                device = self._build(choice)
                device.open()
                try:
                    lines = test(device, timeout_s)
                finally:
                    device.close()
            result = DeviceTestResult(choice.device, True, lines)
        except KioskError as exc:
            result = DeviceTestResult(choice.device, False, (), exc.code, exc.user_message("en") + _detail(exc),
                                      exc.message, tuple((k, str(v)) for k, v in exc.params.items()), _detail(exc))
        except Exception as exc:  # a device that misbehaves must not take the technician screen down
            log.exception("testing %s failed", choice)
            result = DeviceTestResult(choice.device, False, (), "E6000", f"{type(exc).__name__}: {exc}")
        self._audit_test(staff_id, choice, result.ok)
        return result

    def _audit_test(self, staff_id: str, choice: DeviceChoice, ok: bool) -> None:
        from kiosk.persistence.db import unit_of_work
        from kiosk.services import audit

        who = self._staff(staff_id)
        with unit_of_work(self.rt.db.factory) as s:
            audit.record(s, f"staff:{who.name}", "device.tested", choice.device, driver=choice.driver, url=choice.url,
                         ok=ok)

    def _build(self, choice: DeviceChoice) -> Any:
        d = self.rt.settings.devices
        if choice.device == "reader":
            from devices.card_reader.registry import build_card_reader

            return build_card_reader(choice.driver, choice.url, choice.baud or d.reader.baud)
        if choice.device == "printer":
            from devices.printer.registry import build_receipt_printer

            return build_receipt_printer(choice.driver, choice.url, profile=d.printer.profile or None,
                                         columns=d.printer.columns, width_dots=d.printer.width_dots,
                                         encoding=d.printer.encoding)
        if choice.device == "scanner":
            from devices.scanner.registry import build_scanner

            return build_scanner(choice.driver, choice.url, choice.baud or d.scanner.baud)
        from devices.cash.registry import build_cash_acceptor

        return build_cash_acceptor(choice.driver, choice.url, address=d.cash.address)

    @staticmethod
    def _test_reader(reader: Any, timeout_s: float) -> tuple[tuple[str, str], ...]:
        firmware = reader.firmware_version()
        deadline = time.monotonic() + timeout_s
        tag = None
        while tag is None and time.monotonic() < deadline:
            tag = reader.poll(min(1.0, max(0.05, deadline - time.monotonic())))
        if tag is not None:
            reader.release()
        return ((N_("Firmware"), firmware),
                (N_("Card UID"), tag.uid.hex if tag is not None else N_("No card on the reader")))

    def _test_printer(self, printer: Any, timeout_s: float) -> tuple[tuple[str, str], ...]:
        status = printer.status()
        lines: tuple[tuple[str, str], ...] = (
            (N_("Online"), N_("Yes") if status.online else N_("No")), (N_("Paper"), PAPER_WORDS.get(str(status.paper), str(status.paper))),
            (N_("Cover open"), N_("Yes") if status.cover_open else N_("No")))
        if not status.ready:
            from kiosk.errors import PrinterNotReady

            raise PrinterNotReady(reason=status.reason or str(status.paper))
        s = self.rt.settings
        now = site_clock.site_now()
        printer.print_receipt(ReceiptDocument(
            kind=ReceiptKind.TEST, number="TEST", site_name=s.site.names().get("zh_Hans", s.site.code),
            kiosk_id=s.site.kiosk_code, issued_at=now, language="zh_Hans", title="打印测试 / Test print",
            fields=(("Driver", "ok"), ("Time", site_clock.iso(now)))))
        return lines + ((N_("Test print"), N_("Sent")),)

    @staticmethod
    def _test_cash(acceptor: Any, timeout_s: float) -> tuple[tuple[str, str], ...]:
        ident = dict(acceptor.identify())
        values = dict(acceptor.bill_values())
        notes = " ".join(f"¥{v // 100}" for v in sorted(set(values.values())))
        return tuple((k, str(v)) for k, v in ident.items()) + ((N_("Notes accepted"), notes),)

    @staticmethod
    def _test_scanner(scanner: Any, timeout_s: float) -> tuple[tuple[str, str], ...]:
        """Armed for one scan: a payment code is shown masked with its network; a garbled read is E6300's
        message, nothing within the wait E6330. Nothing is charged."""
        from devices.scanner.driver import Scan
        from kiosk.domain.payment_code import masked
        from kiosk.errors import NothingScanned

        scanner.arm()
        try:
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                got = scanner.poll(min(0.5, max(0.05, deadline - time.monotonic())))
                if isinstance(got, Scan):
                    return ((N_("Payment code"), masked(got.code)),
                            (N_("Network"), NETWORK_WORDS.get(str(got.network), str(got.network))))
                if got is not None:  # Unreadable
                    raise got.error
            raise NothingScanned(seconds=round(timeout_s))
        finally:
            scanner.disarm()

    def save_device_config(self, staff_id: str, choices: tuple[DeviceChoice, ...]) -> SavedConfig:
        who = self._staff(staff_id, StaffRole.TECHNICIAN, StaffRole.ADMIN)
        saved = technician_config.save(self.rt.settings.data_dir, choices)
        from kiosk.persistence.db import unit_of_work
        from kiosk.services import audit

        with unit_of_work(self.rt.db.factory) as s:
            audit.record(s, f"staff:{who.name}", "devices.saved", saved.path,
                         devices=";".join(f"{c.device}={c.driver}@{c.url}:{c.baud}" for c in choices))
        return saved


def _detail(exc: KioskError) -> str:
    return f" ({exc.detail})" if getattr(exc, "detail", "") else ""
