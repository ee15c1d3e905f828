"""Serial transport for card readers: any pyserial URL, opened exclusively, reads bounded by deadlines."""
from __future__ import annotations

import glob
import os
import select
import time
from dataclasses import dataclass

import serial
from serial.tools import list_ports

from devices.serial_port import close_quietly, open_serial, port_errors
from kiosk.errors import DeviceTimeout, DeviceUnavailable

# The longest a single pyserial read blocks; reads return as soon as bytes arrive, so this only bounds
# how often a waiting caller re-checks its own deadline on ports without a file descriptor (socket://,
# loop://). Ports with one (device nodes, ptys) sleep in select() until a byte or the deadline arrives:
# a card poll waiting 0.5 s for a card wakes the kiosk once instead of ten times.
_READ_SLICE_S = 0.05


class SerialTransport:
    """A byte pipe on `serial.serial_for_url(url)`: device paths, /dev/serial/by-id links, ptys, socket://,
    loop://, spy://. Every error of a port that is gone (pyserial, OS, termios: devices.serial_port) becomes
    DeviceUnavailable naming `device`."""

    def __init__(self, url: str, baud: int = 115200, *, device: str = "card reader") -> None:
        self.url = url
        self.baud = baud
        self.device = device
        self._port: serial.SerialBase | None = None
        self._line_buf = bytearray()

    @property
    def is_open(self) -> bool:
        return self._port is not None

    def open(self) -> None:
        if self._port is not None:
            return
        # Device paths are opened exclusively: another process holding the reader is a configuration error.
        self._port = open_serial(self.url, device=self.device, baudrate=self.baud, timeout=_READ_SLICE_S,
                                 write_timeout=2.0)

    def close(self) -> None:
        port, self._port = self._port, None
        self._line_buf.clear()
        close_quietly(port)

    def _require(self) -> serial.SerialBase:
        if self._port is None:
            raise DeviceUnavailable(f"{self.url} is not open", device=self.device)
        return self._port

    def set_baud(self, baud: int) -> None:
        """Change the line speed of the open port (after draining what was written at the old speed)."""
        port = self._require()
        try:
            with port_errors(self.device, f"cannot set {self.url} to {baud} baud"):
                port.flush()
                port.baudrate = baud
        except ValueError as exc:  # a speed this port cannot do
            raise DeviceUnavailable(f"cannot set {self.url} to {baud} baud: {exc}", device=self.device) from exc
        self.baud = baud

    def write(self, data: bytes) -> None:
        port = self._require()
        with port_errors(self.device, f"write to {self.url}"):
            port.write(data)

    def read_some(self, deadline: float) -> bytes:
        """Whatever bytes arrive first, waiting at most until `deadline` (time.monotonic()); b"" on timeout."""
        port = self._require()
        with port_errors(self.device, f"read from {self.url}"):
            while True:
                waiting = port.in_waiting
                if waiting:
                    return port.read(waiting)
                left = deadline - time.monotonic()
                if left <= 0:
                    return b""
                fd = getattr(port, "fd", None)
                if isinstance(fd, int) and fd >= 0:
                    if not select.select([fd], [], [], left)[0]:  # a byte, a hang-up, or the deadline
                        continue
                first = port.read(1)  # returns at once: the byte, or pyserial's error for a vanished device
                if first:
                    more = port.in_waiting
                    return first + (port.read(more) if more else b"")

    def read_line(self, deadline: float) -> bytes | None:
        """One line (CR, LF or CRLF ended, without the terminator) or None when the deadline passes first."""
        while True:
            for i, byte in enumerate(self._line_buf):
                if byte in (0x0A, 0x0D):
                    line = bytes(self._line_buf[:i])
                    del self._line_buf[:i + 1]
                    if line:
                        return line
                    break
            else:
                chunk = self.read_some(deadline)
                if not chunk:
                    return None
                self._line_buf += chunk

    def discard_input(self) -> None:
        port = self._require()
        with port_errors(self.device, f"discard input of {self.url}"):
            port.reset_input_buffer()
        self._line_buf.clear()

    def timeout(self, what: str) -> DeviceTimeout:
        return DeviceTimeout(f"{what} on {self.url}", device=self.device)


@dataclass(frozen=True)
class SerialPortInfo:
    device: str
    description: str
    hwid: str
    by_id: tuple[str, ...]


STABLE_LINKS = ("/dev/kiosk-*", "/dev/serial/by-id/*")  # the installer's udev names first (kiosk.install)


def stable_links(patterns: tuple[str, ...] = STABLE_LINKS) -> dict[str, list[str]]:
    """Real device path -> the stable links to it, /dev/kiosk-<device> (udev rules of `kiosk install`) first."""
    links: dict[str, list[str]] = {}
    for pattern in patterns:
        for link in sorted(glob.glob(pattern)):
            links.setdefault(os.path.realpath(link), []).append(link)
    return links


def list_serial_ports() -> list[SerialPortInfo]:
    """Serial ports the OS knows, with the stable links that point at each: /dev/kiosk-*, then /dev/serial/by-id."""
    links = stable_links()
    ports = []
    for info in sorted(list_ports.comports(), key=lambda p: p.device):
        real = os.path.realpath(info.device)
        ports.append(SerialPortInfo(info.device, info.description or "", info.hwid or "",
                                    tuple(links.get(real, ()))))
    return ports
