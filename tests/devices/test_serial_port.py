"""A port that vanished under an open driver: what each call raises on a real pty, and that every serial driver
turns it into the device error tree (DeviceUnavailable), never a raw termios.error or OSError."""
from __future__ import annotations

import os
import select
import termios
import time
import tty
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import serial

from devices.card_reader.pn532_reader import Pn532CardReader
from devices.card_reader.transport import SerialTransport
from devices.card_reader.uid_line_reader import UidLineCardReader
from devices.cash.cctalk_bill_validator import CctalkBillValidator
from devices.printer.escpos_printer import EscposReceiptPrinter, PrinterConfig
from devices.serial_port import describe, open_serial, port_errors
from devices.sim.cctalk_sim import SimBillValidator
from devices.sim.escpos_sim import SimPrinter
from devices.sim.pn532_sim import SimPn532
from kiosk.errors import DeviceTimeout, DeviceUnavailable


@pytest.fixture
def vanished() -> Iterator[serial.SerialBase]:
    """A pty opened the way the drivers open ports, then its other end closed: a pulled USB-serial adapter."""
    master, slave = os.openpty()
    tty.setraw(slave)
    port = open_serial(os.ttyname(slave), device="test device", baudrate=9600, timeout=0.05, write_timeout=0.5)
    os.close(master)
    os.close(slave)
    yield port
    port.close()


CALLS: dict[str, Callable[[serial.SerialBase], object]] = {
    "reset_input_buffer": lambda p: p.reset_input_buffer(),
    "reset_output_buffer": lambda p: p.reset_output_buffer(),
    "flush": lambda p: p.flush(),
    "in_waiting": lambda p: p.in_waiting,
    "write": lambda p: p.write(b"\x01"),
    "read": lambda p: p.read(1),
    "baudrate": lambda p: setattr(p, "baudrate", 19200),
    "select on a closed descriptor": lambda p: select.select([_closed_fd()], [], [], 0),
}


def _closed_fd() -> int:
    """A descriptor number that was valid a moment ago (a port closed by another thread)."""
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    return r


@pytest.mark.parametrize("call", sorted(CALLS))
def test_every_call_on_a_vanished_port_becomes_device_unavailable(vanished: serial.SerialBase, call: str) -> None:
    with pytest.raises(DeviceUnavailable) as caught:
        with port_errors("test device", f"{call} on the port"):
            CALLS[call](vanished)
    assert caught.value.params == {"device": "test device"}
    assert caught.value.detail.startswith(f"{call} on the port: ")


def test_a_flush_on_a_vanished_port_raises_termios_error_which_is_no_os_error(vanished: serial.SerialBase) -> None:
    """Why the old `except (SerialException, OSError)` let it through."""
    with pytest.raises(termios.error) as caught:
        vanished.reset_input_buffer()
    assert not isinstance(caught.value, OSError)
    assert describe(caught.value) == "Input/output error (EIO)"


def test_an_os_error_is_described_by_its_errno_name() -> None:
    assert describe(BrokenPipeError(32, "Broken pipe")) == "Broken pipe (EPIPE)"
    assert describe(serial.SerialException("write failed: [Errno 5] Input/output error")) == \
        "write failed: [Errno 5] Input/output error"


def test_a_write_timeout_is_a_device_timeout() -> None:
    with pytest.raises(DeviceTimeout):
        with port_errors("printer", "write"):
            raise serial.SerialTimeoutException("Write timeout")


def test_a_missing_port_cannot_be_opened(tmp_path: Path) -> None:
    with pytest.raises(DeviceUnavailable, match="cannot open .*gone"):
        open_serial(str(tmp_path / "gone"), device="card reader")


# --- each driver, its simulator closed under the open port -------------------------------------------
def test_serial_transport_on_a_vanished_port_raises_device_unavailable_at_every_step() -> None:
    master, slave = os.openpty()
    transport = SerialTransport(os.ttyname(slave), 9600, device="card reader")
    transport.open()
    os.close(master)
    os.close(slave)
    try:
        for step in (transport.discard_input, lambda: transport.write(b"x"),
                     lambda: transport.read_some(time.monotonic() + 0.2),
                     lambda: transport.set_baud(19200)):
            with pytest.raises(DeviceUnavailable):
                step()
    finally:
        transport.close()


def test_the_pn532_reader_on_an_unplugged_simulator_raises_device_unavailable() -> None:
    with SimPn532() as sim:
        reader = Pn532CardReader(sim.path)
        reader.open()
        sim.unplug()
        with pytest.raises(DeviceUnavailable):
            reader.poll(0.2)
        reader.close()


def test_the_uid_line_reader_on_a_vanished_port_raises_device_unavailable() -> None:
    master, slave = os.openpty()
    reader = UidLineCardReader(os.ttyname(slave))
    reader.open()
    os.close(master)
    os.close(slave)
    with pytest.raises(DeviceUnavailable):
        reader.poll(0.2)
    reader.close()


def test_the_cctalk_validator_on_a_stopped_simulator_raises_device_unavailable_not_termios_error() -> None:
    sim = SimBillValidator()
    validator = CctalkBillValidator(sim.start(), timeout_s=0.2, retries=1)
    validator.open()
    assert validator.poll() == []
    sim.stop()  # closes the pty master under the open port
    with pytest.raises(DeviceUnavailable) as caught:
        validator.poll()
    assert caught.value.params == {"device": "banknote acceptor"}
    validator.close()


def test_the_serial_printer_status_never_raises_when_its_port_vanished(tmp_path: Path) -> None:
    sim = SimPrinter(tmp_path / "receipts", port=0, pty=True).start()
    printer = EscposReceiptPrinter(PrinterConfig(url=f"serial:{sim.pty_path}?baud=115200", status_timeout=0.3))
    try:
        printer.open()
        assert printer.status().ready
        sim.stop()  # closes the pty master under the open port
        status = printer.status()  # documented never to raise
        assert not status.online and not status.reachable
        assert "connection lost" in status.reason or "cannot connect" in status.reason
    finally:
        printer.close()
        sim.stop()
