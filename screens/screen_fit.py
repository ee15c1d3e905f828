"""The window's size (Kivy-free): the configured size, or the reference kiosk size that fits the screen found.

A lobby kiosk is usually a portrait 1080x1920 panel; a desktop running `kiosk demo` is usually landscape. With
`ui.width`/`ui.height` left at 0 the window takes the reference size of `ui.orientation` ("auto": the screen's
own orientation): 1080x1920 or 1920x1080. Whatever was asked, the window is never larger than the screen it
opens on: it shrinks, keeping its shape, until it fits (the theme then scales every size with it; a window with a
title bar also leaves room for the bar and a desktop panel). Full screen
takes the screen's size. Only X11 tells us the screen's size before the window opens (libX11 through ctypes);
elsewhere (Wayland, KMS/DRM) the asked size is used as it is.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os

REFERENCE = {"portrait": (1080, 1920), "landscape": (1920, 1080)}
DECORATION_PX = 96  # a decorated window's title bar and a desktop's panel: kept free so nothing is cut off
ORIENTATIONS = ("auto", "portrait", "landscape")


def desktop_size() -> tuple[int, int] | None:
    """The X screen's size in pixels, or None without an X display."""
    if not os.environ.get("DISPLAY"):
        return None
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
    except OSError:
        return None
    lib.XOpenDisplay.argtypes, lib.XOpenDisplay.restype = [ctypes.c_char_p], ctypes.c_void_p
    lib.XDefaultScreen.argtypes = [ctypes.c_void_p]
    lib.XDisplayWidth.argtypes = lib.XDisplayHeight.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.XCloseDisplay.argtypes = [ctypes.c_void_p]
    display = lib.XOpenDisplay(None)
    if not display:
        return None
    try:
        screen = lib.XDefaultScreen(display)
        return int(lib.XDisplayWidth(display, screen)), int(lib.XDisplayHeight(display, screen))
    finally:
        lib.XCloseDisplay(display)


def window_size(width: int, height: int, orientation: str, fullscreen: bool,
                desktop: tuple[int, int] | None, borderless: bool = True) -> tuple[int, int]:
    """The size the window opens at: see the module's doc."""
    if fullscreen and desktop:
        return desktop
    if width > 0 and height > 0:
        wanted = (width, height)
    else:
        if orientation not in ("portrait", "landscape"):
            orientation = "landscape" if desktop and desktop[0] > desktop[1] else "portrait"
        wanted = REFERENCE[orientation]
    if not desktop:
        return wanted
    room = desktop if borderless else (desktop[0], desktop[1] - DECORATION_PX)
    shrink = min(1.0, room[0] / wanted[0], room[1] / wanted[1])
    return max(1, int(wanted[0] * shrink)), max(1, int(wanted[1] * shrink))
