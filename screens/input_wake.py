"""Wakes Kivy's main loop the moment the X server sends the window something, so idle frames can be rare.

Kivy reads input only when its loop runs a frame, so an idle kiosk used to wake 12 times a second just to
look for a touch. On X11 the window's events arrive on one socket: a thread sleeps in `select()` on it and,
when it becomes readable, schedules a no-op on the interrupt clock (KIVY_CLOCK=interrupt), which ends the
loop's sleep at once. The loop itself still reads the events (SDL must, on the main thread); the thread only
watches. Where there is no X11 connection (Wayland, KMS/DRM, a test without a window) `start()` returns
None and the kiosk keeps polling at `ui.idle_poll_fps`.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import select
import threading
from typing import Any

log = logging.getLogger(__name__)


def x11_connection_fd(window: Any) -> int | None:
    """The file descriptor of the window's X connection, or None when the window is not on X11."""
    try:
        info = window.get_window_info()
    except Exception:  # noqa: BLE001 - providers without it (mock windows, old SDL) simply can't wake
        return None
    display = getattr(info, "display", None)
    if type(info).__name__ != "WindowInfoX11" or not display:
        return None
    name = ctypes.util.find_library("X11") or "libX11.so.6"
    try:
        libx11 = ctypes.CDLL(name)
    except OSError:
        return None
    libx11.XConnectionNumber.argtypes = [ctypes.c_void_p]
    libx11.XConnectionNumber.restype = ctypes.c_int
    fd = int(libx11.XConnectionNumber(ctypes.c_void_p(display)))
    return fd if fd >= 0 else None


class InputWake:
    """A daemon thread that wakes the loop whenever `fd` is readable, at most once per frame."""

    def __init__(self, fd: int, schedule: Any) -> None:
        self.fd = fd
        self._schedule = schedule  # Clock.schedule_once: thread-safe, and it interrupts the clock's sleep
        self._frame_ran = threading.Event()
        self._stop_r, self._stop_w = os.pipe()
        self.wakes = 0
        self._thread = threading.Thread(target=self._run, name="input-wake", daemon=True)

    @classmethod
    def start(cls, window: Any, schedule: Any) -> InputWake | None:
        fd = x11_connection_fd(window)
        if fd is None:
            log.info("input wake: no X11 connection; idle frames poll for input")
            return None
        wake = cls(fd, schedule)
        wake._thread.start()
        log.info("input wake: watching X connection fd %d", fd)
        return wake

    def _run(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.fd, self._stop_r], [], [])
            except (OSError, ValueError):  # the display closed under us: the app is ending
                return
            if self._stop_r in ready:
                return
            self._frame_ran.clear()
            self.wakes += 1
            self._schedule(self._on_frame)
            # the loop reads the socket in that frame; until then it stays readable, so don't spin on it
            self._frame_ran.wait(1.0)

    def _on_frame(self, *_args: Any) -> None:
        self._frame_ran.set()

    def stop(self) -> None:
        try:
            os.write(self._stop_w, b"x")
        except OSError:
            pass
        self._thread.join(timeout=1.0)
        for fd in (self._stop_r, self._stop_w):
            try:
                os.close(fd)
            except OSError:
                pass
