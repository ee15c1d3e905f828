"""A scanner set to virtual COM port mode: each scan is the code's characters then CR, LF or CR LF."""
from __future__ import annotations

from devices.card_reader.transport import SerialTransport


class SerialScanSource:
    """Lines from a serial scanner (any pyserial URL: device path, /dev/serial/by-id link, pty).

    A port that vanishes raises DeviceUnavailable naming the scanner (devices.serial_port), which the
    DeviceSupervisor takes as "close, report unavailable, reopen with back-off"."""

    kind = "serial"

    def __init__(self, url: str, baud: int = 9600, *, name: str = "scanner") -> None:
        self.url = url
        self.name = name
        self.transport = SerialTransport(url, baud, device=name)

    def open(self) -> None:
        self.transport.open()

    def close(self) -> None:
        self.transport.close()

    def read_line(self, deadline: float) -> str | None:
        """One scan (terminator removed) or None once `deadline` (time.monotonic()) passes. Bytes that are
        not ASCII come back as U+FFFD, so a garbled scan is a line the driver refuses, never an exception."""
        line = self.transport.read_line(deadline)
        return None if line is None else line.decode("ascii", errors="replace").strip()

    def discard_input(self) -> None:
        self.transport.discard_input()
