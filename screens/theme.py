"""The theme in numbers (Kivy-free): a type scale and spacing derived from the screen, 15 mm touch targets, palettes.

Reference screens are the usual lobby kiosk, portrait 1080x1920, and its landscape twin 1920x1080; both have a
1080 px short side. Other windows scale every size by their short side / 1080, with an absolute floor of 24 px
for anything a resident reads, so a 1280x800 window still shows 24 px fine print. Large-text mode multiplies
every font by 1.5 (China's elder-friendly rules ask for at least 30 dp in a large-text mode). Touch targets are
millimetres on the real panel, known from its diagonal (`ui.screen_diagonal_in`, default 21.5").
"""
from __future__ import annotations

import math
from dataclasses import dataclass

MIN_TOUCH_MM = 15.0
LARGE_TEXT_SCALE = 1.5
MM_PER_INCH = 25.4
REFERENCE_SHORT_SIDE = 1080
DEFAULT_DIAGONAL_IN = 21.5
MIN_READ_PX = 24  # nothing a resident must read is drawn smaller, at any window size

# font sizes in px at the reference screen
TYPE_SCALE = {
    "s": 24,    # fine print: dates, hints, footnotes (= the minimum)
    "m": 32,    # body text, buttons
    "l": 40,    # section headings, tile captions
    "xl": 48,   # page titles, amounts
    "xxl": 72,  # the amount due and the amount received on a device step
}
ICON_SCALE = {"tile": 96, "inline": 48, "pictogram": 220}
PAD_PX = 16

COLOR_NAMES = ("bg", "surface", "text", "muted", "accent", "accent_text", "error_bg", "error_text", "ok_bg",
               "warn_bg", "tile", "tile_text", "icon")

# sRGB 0..1. Normal: dark slate text on near-white, a deep blue accent, every text pair >= 4.5:1 (WCAG AA).
NORMAL = {
    "bg": (0.945, 0.953, 0.965, 1), "surface": (1, 1, 1, 1), "text": (0.082, 0.102, 0.141, 1),
    "muted": (0.290, 0.322, 0.384, 1), "accent": (0.031, 0.329, 0.596, 1), "accent_text": (1, 1, 1, 1),
    "error_bg": (0.996, 0.922, 0.910, 1), "error_text": (0.545, 0.047, 0.047, 1), "ok_bg": (0.878, 0.957, 0.890, 1),
    "warn_bg": (1.0, 0.953, 0.804, 1), "tile": (0.906, 0.937, 0.973, 1), "tile_text": (0.031, 0.212, 0.400, 1),
    "icon": (0.031, 0.329, 0.596, 1),
}
# High contrast: white and yellow on black, every text pair >= 7:1 (WCAG AAA).
HIGH_CONTRAST = {
    "bg": (0, 0, 0, 1), "surface": (0, 0, 0, 1), "text": (1, 1, 1, 1), "muted": (1, 1, 0.4, 1),
    "accent": (1, 1, 0, 1), "accent_text": (0, 0, 0, 1), "error_bg": (0, 0, 0, 1), "error_text": (1, 1, 0, 1),
    "ok_bg": (0, 0, 0, 1), "warn_bg": (0, 0, 0, 1), "tile": (0, 0, 0, 1), "tile_text": (1, 1, 1, 1),
    "icon": (1, 1, 0, 1),
}
# (foreground, background) pairs that carry text or icons on screen; the contrast test walks these
TEXT_PAIRS = (("text", "bg"), ("text", "surface"), ("muted", "bg"), ("muted", "surface"), ("accent_text", "accent"),
              ("error_text", "error_bg"), ("text", "ok_bg"), ("text", "warn_bg"), ("tile_text", "tile"),
              ("icon", "tile"), ("icon", "surface"), ("accent", "surface"), ("muted", "tile"))


def relative_luminance(rgb: tuple[float, ...]) -> float:
    """WCAG 2.x relative luminance of an sRGB colour with channels 0..1."""
    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (lin(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(fg: tuple[float, ...], bg: tuple[float, ...]) -> float:
    """WCAG contrast ratio, 1..21."""
    a, b = sorted((relative_luminance(fg), relative_luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


@dataclass(frozen=True)
class ThemeSpec:
    """Pixel sizes and colours for one window size, panel and pair of accessibility modes."""

    width: int = 1080
    height: int = 1920
    diagonal_in: float = DEFAULT_DIAGONAL_IN
    large_text: bool = False
    high_contrast: bool = False
    width_mm: float = 0.0  # the panel's physical width, when known exactly (overrides the diagonal)

    @property
    def portrait(self) -> bool:
        return self.height > self.width

    @property
    def scale(self) -> float:
        """Sizes relative to the reference screen, by the short side."""
        return min(self.width, self.height) / REFERENCE_SHORT_SIDE

    @property
    def px_per_mm(self) -> float:
        if self.width_mm > 0:
            return self.width / self.width_mm
        return math.hypot(self.width, self.height) / (self.diagonal_in * MM_PER_INCH)

    @property
    def touch_px(self) -> int:
        """Smallest side of anything touchable: 15 mm on the real panel."""
        return math.ceil(MIN_TOUCH_MM * self.px_per_mm)

    @property
    def text_scale(self) -> float:
        return LARGE_TEXT_SCALE if self.large_text else 1.0

    def font_px(self, level: str) -> int:
        """Font size in pixels for a level of TYPE_SCALE ('s', 'm', 'l', 'xl', 'xxl')."""
        return round(max(MIN_READ_PX, TYPE_SCALE[level] * self.scale) * self.text_scale)

    @property
    def min_read_px(self) -> int:
        """The smallest text a resident must read (the 's' level)."""
        return self.font_px("s")

    def icon_px(self, kind: str) -> int:
        return round(max(MIN_READ_PX * 1.5, ICON_SCALE[kind] * self.scale) * (1 + (self.text_scale - 1) * 0.5))

    @property
    def pad_px(self) -> int:
        return max(8, round(PAD_PX * self.scale))

    @property
    def colors(self) -> dict[str, tuple[float, float, float, float]]:
        return dict(HIGH_CONTRAST if self.high_contrast else NORMAL)
