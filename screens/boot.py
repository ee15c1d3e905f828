"""Configures Kivy before its first import: environment, window, frame rate, input, default CJK font."""
from __future__ import annotations

import os
from pathlib import Path

from screens.screen_fit import desktop_size, window_size
from screens.ui_settings import UiSettings


def configure_kivy(ui: UiSettings) -> None:
    """Must run before anything imports kivy.core.window. Safe to call more than once."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_CONFIG", "1")  # never read or write ~/.kivy/config.ini
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    # the interrupt clock wakes the loop as soon as a worker posts a result, so idle frames can be rare
    os.environ.setdefault("KIVY_CLOCK", "interrupt")
    # SDL would turn SIGTERM into a window-close request, which the kiosk ignores outside staff mode;
    # the app installs its own SIGTERM handler so systemd can still stop it cleanly.
    os.environ.setdefault("SDL_NO_SIGNAL_HANDLERS", "1")
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "estate-kiosk" / "kivy"
    os.environ.setdefault("KIVY_HOME", str(cache))
    Path(os.environ["KIVY_HOME"]).mkdir(parents=True, exist_ok=True)
    ui.check_font()

    from kivy.config import Config

    width, height = window_size(ui.width, ui.height, ui.orientation, ui.fullscreen, desktop_size(),
                                ui.borderless)
    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("graphics", "fullscreen", "auto" if ui.fullscreen else "0")
    Config.set("graphics", "borderless", "1" if ui.borderless else "0")
    Config.set("graphics", "show_cursor", "1" if ui.show_cursor else "0")
    Config.set("graphics", "maxfps", str(ui.max_fps))
    Config.set("graphics", "resizable", "0")
    Config.set("graphics", "multisamples", "0")
    Config.set("kivy", "exit_on_escape", "0")
    Config.set("kivy", "pause_on_minimize", "0")
    Config.set("kivy", "keyboard_mode", "system")
    Config.set("input", "mouse", "mouse,disable_multitouch")
    pin_clock_resolution()


# Kivy's clock does not sleep when the next event is due within 1/(3 * current fps): it spins. At the
# idle 2 fps that would be the last 0.3 s before every scheduled event, one core busy. Linux sleeps to
# well under a millisecond, so the clock's resolution is pinned at 2 ms whatever the frame rate.
CLOCK_RESOLUTION_S = 0.002


def pin_clock_resolution() -> None:
    from kivy.clock import Clock

    Clock.get_resolution = lambda: CLOCK_RESOLUTION_S  # read by ClockBaseInterruptBehavior.idle (kivy/clock.py)


def register_font(ui: UiSettings) -> None:
    """Register one typeface per language (screens.fonts) and the icon font; the Simplified face becomes Kivy's
    default, so even a plain Label renders Chinese (no missing-glyph boxes)."""
    from kivy.core.text import DEFAULT_FONT, LabelBase

    from screens.fonts import FONT_NAMES, language_fonts
    from screens.icons import ICON_FONT, icon_font_file

    fallback = str(ui.check_font())
    faces = language_fonts(fallback)
    for name, files in faces.items():
        LabelBase.register(name, fn_regular=files.regular, fn_bold=files.bold)
    simplified = faces[FONT_NAMES["zh_Hans"]]
    LabelBase.register(DEFAULT_FONT, fn_regular=simplified.regular, fn_bold=simplified.bold)
    LabelBase.register(ICON_FONT, fn_regular=str(icon_font_file()))
