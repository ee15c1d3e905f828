"""A scanner in USB HID keyboard-wedge mode, read from its Linux input event node (/dev/input/by-id/...-event-kbd).

The node is read directly (struct input_event, linux/input.h) and grabbed with EVIOCGRAB so the scanner's key
presses never reach the focused text field or the UI; python-evdev is not needed. Where the input subsystem is
absent (no /dev/input: containers, non-Linux) the kind is not offered: `hid_support()` says why.
"""
from __future__ import annotations

import errno
import fcntl
import os
import select
import sys
import time

from devices.scanner.hid_keys import EV_KEY, INPUT_EVENT, KeyDecoder
from devices.serial_port import describe
from kiosk.errors import DeviceUnavailable

EVIOCGRAB = 0x40044590  # _IOW('E', 0x90, int)


def hid_support() -> str:
    """"" when keyboard-wedge scanners can be read here, else the reason (shown by `kiosk devices list`)."""
    if not sys.platform.startswith("linux"):
        return "keyboard-wedge scanners are read through Linux input events; this is not Linux"
    if not os.path.isdir("/dev/input"):
        return "no /dev/input on this machine (no input subsystem): use a scanner in virtual COM port mode"
    return ""


class HidScanSource:
    """Lines typed by a keyboard-wedge scanner: key codes mapped to characters (with shift), ended by Enter."""

    kind = "hid"

    def __init__(self, path: str, *, name: str = "scanner", grab: bool = True) -> None:
        self.url = path
        self.name = name
        self.grab = grab
        self._fd = -1
        self._buf = bytearray()
        self._decoder = KeyDecoder()
        self._lines: list[str] = []

    def _unavailable(self, what: str, exc: OSError) -> DeviceUnavailable:
        return DeviceUnavailable(f"{what} {self.url}: {describe(exc)}", device=self.name)

    def open(self) -> None:
        if self._fd >= 0:
            return
        try:
            fd = os.open(self.url, os.O_RDONLY | os.O_NONBLOCK)
        except OSError as exc:
            raise self._unavailable("cannot open", exc) from exc
        if self.grab:
            try:
                fcntl.ioctl(fd, EVIOCGRAB, 1)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.ENOTTY, errno.EINVAL):
                    raise DeviceUnavailable(f"{self.url} is not an input event device", device=self.name) from exc
                raise self._unavailable("cannot grab", exc) from exc  # EBUSY: something else grabbed it
        self._fd = fd

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        self._buf.clear()
        self._lines.clear()
        self._decoder.reset()
        if fd >= 0:
            try:
                os.close(fd)  # closing releases the grab
            except OSError:
                pass

    def _read_events(self, wait_s: float) -> bool:
        if self._fd < 0:
            raise DeviceUnavailable(f"{self.url} is not open", device=self.name)
        try:
            if not select.select([self._fd], [], [], max(0.0, wait_s))[0]:
                return False
            chunk = os.read(self._fd, INPUT_EVENT.size * 64)
        except OSError as exc:  # ENODEV once the scanner is unplugged
            if exc.errno == errno.EAGAIN:
                return False
            raise self._unavailable("read from", exc) from exc
        if not chunk:  # end of file: the node went away (or the writer of a test FIFO)
            raise DeviceUnavailable(f"read from {self.url}: the device is gone", device=self.name)
        self._buf += chunk
        whole = len(self._buf) - len(self._buf) % INPUT_EVENT.size
        for _sec, _usec, etype, code, value in INPUT_EVENT.iter_unpack(bytes(self._buf[:whole])):
            if etype == EV_KEY:
                line = self._decoder.feed(code, value)
                if line is not None:
                    self._lines.append(line.strip())
        del self._buf[:whole]
        return True

    def read_line(self, deadline: float) -> str | None:
        while not self._lines:
            left = deadline - time.monotonic()
            if not self._read_events(left) and left <= 0:
                return None
        return self._lines.pop(0) or self.read_line(deadline)

    def discard_input(self) -> None:
        while self._read_events(0):
            pass
        self._lines.clear()
        self._decoder.reset()
