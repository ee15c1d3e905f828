"""One python-escpos connection (Network, Serial, Usb, File): open, reopen, write, timed one-byte reads."""
from __future__ import annotations

import socket

from devices.printer.url import URL_KEY, LinkKind, PrinterUrl
from devices.serial_port import VANISHED_PORT_ERRORS, describe
from kiosk.errors import ConfigError, DeviceUnavailable

DEVICE = "receipt printer"
DRAIN_LIMIT = 65536  # a line that keeps sending is not drained for ever


class LinkBroken(Exception):
    """The connection failed under us (reset, closed, unplugged): close it and open a new one.

    Every error of a connection that is gone becomes this one (devices.serial_port lists them for serial
    ports: termios.error from a flush is no OSError), so status() can keep its promise never to raise."""


class EscposLink:
    """Holds the python-escpos object for a URL. After any failure it is closed and the next use
    builds a fresh object: a power-cycled printer leaves the old object broken for good."""

    def __init__(self, url: PrinterUrl, profile: str | None = None, timeout: float = 5.0) -> None:
        self.url = url
        self.profile = profile
        self.timeout = timeout
        self._printer = None
        if url.kind is LinkKind.USB:
            from escpos.printer import Usb

            if not Usb.is_usable():
                raise ConfigError("usb: printer URLs need the pyusb package (pip install pyusb)", key=URL_KEY)

    @property
    def can_read(self) -> bool:
        """False for file: devices, which give no status channel."""
        return self.url.kind is not LinkKind.FILE

    @property
    def replies_outlive_connection(self) -> bool:
        """True where a reply the printer sends late still reaches the next connection: a serial line or USB
        (closing and reopening the port does not stop the byte on the wire). A TCP reply goes to the old,
        closed connection."""
        return self.url.kind in (LinkKind.SERIAL, LinkKind.USB)

    @property
    def is_open(self) -> bool:
        return self._printer is not None

    def _build(self):
        from escpos import printer as p

        u = self.url
        if u.kind is LinkKind.TCP:
            return p.Network(u.host, u.port, timeout=self.timeout, profile=self.profile)
        if u.kind is LinkKind.SERIAL:
            return p.Serial(u.path, baudrate=u.baud, timeout=self.timeout, dsrdtr=u.flow == "dsrdtr",
                            xonxoff=u.flow == "xonxoff", profile=self.profile)
        if u.kind is LinkKind.USB:
            return p.Usb(u.vendor_id, u.product_id, timeout=int(self.timeout * 1000), profile=self.profile)
        return p.File(u.path, profile=self.profile)

    def open(self):
        """The open python-escpos object (opened now if needed). Raises DeviceUnavailable."""
        if self._printer is not None:
            return self._printer
        from escpos.exceptions import Error as EscposError

        try:
            printer = self._build()
            printer.open()
            if self.url.kind is LinkKind.SERIAL and self.url.flow == "rtscts":
                printer._device.rtscts = True  # python-escpos has no parameter for RTS/CTS
        except (EscposError, *VANISHED_PORT_ERRORS, ValueError, RuntimeError) as exc:
            cause = exc.__context__ if isinstance(exc, EscposError) and exc.__context__ else exc
            raise DeviceUnavailable(f"{self.url}: {describe(cause)}".replace("\n", " "), device=DEVICE) from exc
        self._printer = printer
        return printer

    def close(self) -> None:
        printer, self._printer = self._printer, None
        if printer is None:
            return
        try:
            printer.close()
        except Exception:  # closing a dead connection may fail in any way; it is gone either way
            # (python-escpos's Serial.close flushes first, which fails on a vanished port and leaves
            # the port open; its __del__ would then fail again later). Close the port itself.
            device, printer._device = getattr(printer, "_device", None), False
            try:
                if device:
                    device.close()
            except Exception:  # noqa: BLE001 - nothing more can be done for a port that is gone
                pass

    def write(self, data: bytes) -> None:
        printer = self.open()
        try:
            printer._raw(data)
        except Exception as exc:  # socket / serial / usb errors: the connection is no longer usable
            self.close()
            raise LinkBroken(describe(exc)) from exc

    def drain(self) -> int:
        """Drop unread bytes (late replies, automatic status) so the next read is the next answer; returns
        how many were dropped."""
        device = self.open()._device
        dropped = 0
        try:
            if self.url.kind is LinkKind.TCP:
                device.setblocking(False)
                try:
                    while dropped < DRAIN_LIMIT and (chunk := device.recv(256)):
                        dropped += len(chunk)
                except (BlockingIOError, InterruptedError):
                    pass
                finally:
                    device.settimeout(self.timeout)
            elif self.url.kind is LinkKind.SERIAL:
                while dropped < DRAIN_LIMIT and (waiting := device.in_waiting):  # read, not tcflush: counted
                    dropped += len(device.read(waiting))
        except VANISHED_PORT_ERRORS as exc:
            self.close()
            raise LinkBroken(describe(exc)) from exc
        return dropped

    def read_byte(self, timeout: float) -> int | None:
        """One byte from the printer within `timeout` seconds, or None when it does not answer."""
        printer = self.open()
        device = printer._device
        try:
            if self.url.kind is LinkKind.TCP:
                device.settimeout(timeout)
                try:
                    data = device.recv(1)
                except socket.timeout:
                    return None
                finally:
                    device.settimeout(self.timeout)
                if not data:
                    raise LinkBroken("connection closed by the printer")
                return data[0]
            if self.url.kind is LinkKind.SERIAL:
                device.timeout = timeout
                try:
                    data = device.read(1)
                finally:
                    device.timeout = self.timeout
                return data[0] if data else None
            if self.url.kind is LinkKind.USB:
                data = printer._read()
                return data[0] if data else None
        except LinkBroken:
            self.close()
            raise
        except Exception as exc:  # reset / unplugged while reading
            self.close()
            raise LinkBroken(describe(exc)) from exc
        return None
