"""The one place where a port that vanished under an open driver becomes a device error (kiosk.errors).

A USB-serial adapter pulled out, or a simulator killed under its pty, fails differently in each call on the
still-open port (Linux, pyserial 3.5; tests/devices/test_serial_port.py shows each one on a real pty):
- read(), write() and changing a setting raise serial.SerialException (an OSError);
- in_waiting raises OSError EIO;
- reset_input_buffer(), reset_output_buffer() and flush() raise termios.error (tcflush/tcdrain), which is
  NOT an OSError: an `except (SerialException, OSError)` lets it through, the supervisor never hears of it;
- select() on a descriptor closed meanwhile raises OSError EBADF;
- opening the path again raises SerialException ENOENT until the device is back.

Every serial driver (PN532 and UID-line readers through SerialTransport, the ccTalk validator, the ESC/POS
printer's serial link) wraps its port I/O in `port_errors(device, what)`: each of the above becomes
DeviceUnavailable with one readable detail ("write to /dev/ttyUSB0: Input/output error (EIO)"), a write
that times out becomes DeviceTimeout. Both are what the DeviceSupervisor takes as "close it, report it
unavailable, reopen it with back-off".
"""
from __future__ import annotations

import errno
import termios
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import serial

from kiosk.errors import DeviceTimeout, DeviceUnavailable

# What I/O on a port that is gone raises. select.error, BrokenPipeError, ConnectionResetError, TimeoutError,
# ENXIO / ENODEV / EIO / EBADF are all OSErrors; serial.SerialException is one too, termios.error is not.
VANISHED_PORT_ERRORS: tuple[type[BaseException], ...] = (serial.SerialException, OSError, termios.error)


def describe(exc: BaseException) -> str:
    """One line for a port error: "Input/output error (EIO)" rather than "(5, 'Input/output error')"."""
    if isinstance(exc, serial.SerialException) and not exc.errno:
        return str(exc) or type(exc).__name__
    code, text = None, ""
    if isinstance(exc, OSError):
        code, text = exc.errno, exc.strerror or ""
    elif isinstance(exc, termios.error) and len(exc.args) == 2:
        code, text = exc.args
    if isinstance(code, int) and text:
        return f"{text} ({errno.errorcode.get(code, code)})"
    return str(exc) or type(exc).__name__


def device_error(exc: BaseException, *, device: str, what: str) -> DeviceUnavailable | DeviceTimeout:
    """The kiosk error for a port error raised during `what` (e.g. "write to /dev/ttyUSB0")."""
    if isinstance(exc, serial.SerialTimeoutException):
        return DeviceTimeout(f"{what}: {describe(exc)}", device=device)
    return DeviceUnavailable(f"{what}: {describe(exc)}", device=device)


@contextmanager
def port_errors(device: str, what: str) -> Iterator[None]:
    """Run port I/O; a vanished port's error leaves as DeviceUnavailable (DeviceTimeout for a write timeout)."""
    try:
        yield
    except VANISHED_PORT_ERRORS as exc:
        raise device_error(exc, device=device, what=what) from exc


def open_serial(url: str, *, device: str, **settings: Any) -> serial.SerialBase:
    """`serial.serial_for_url(url, **settings)`, device paths opened exclusively (a second opener is a
    configuration error); a missing device, a refused lock or an unusable setting is DeviceUnavailable."""
    if "://" not in url:
        settings.setdefault("exclusive", True)
    try:
        return serial.serial_for_url(url, **settings)
    except (*VANISHED_PORT_ERRORS, ValueError) as exc:
        raise DeviceUnavailable(f"cannot open {url}: {describe(exc)}", device=device) from exc


def close_quietly(port: serial.SerialBase | None) -> None:
    """Close a port that may be half gone: the file descriptor is released either way."""
    if port is None:
        return
    try:
        port.close()
    except VANISHED_PORT_ERRORS:
        pass
