"""Theme: touch targets in millimetres for the configured panel, large-text and high-contrast palettes."""
from __future__ import annotations

import math
from dataclasses import dataclass

MIN_TOUCH_MM = 12.0
LARGE_TEXT_SCALE = 1.5
MM_PER_INCH = 25.4

# (background, surface, text, muted text, accent, accent text, error box, error text, ok box)
NORMAL = ((0.96, 0.97, 0.98, 1), (1, 1, 1, 1), (0.10, 0.12, 0.16, 1), (0.35, 0.38, 0.45, 1),
          (0.05, 0.38, 0.66, 1), (1, 1, 1, 1), (1.0, 0.92, 0.90, 1), (0.55, 0.05, 0.05, 1), (0.88, 0.96, 0.89, 1))
HIGH_CONTRAST = ((0, 0, 0, 1), (0, 0, 0, 1), (1, 1, 1, 1), (1, 1, 0.4, 1), (1, 1, 0, 1), (0, 0, 0, 1),
                 (0, 0, 0, 1), (1, 1, 0, 1), (0, 0, 0, 1))


@dataclass(frozen=True)
class ThemeSpec:
    """Pixel sizes and colours derived from the panel's DPI and the accessibility modes (Kivy-free)."""

    dpi: float = 96.0
    large_text: bool = False
    high_contrast: bool = False

    @property
    def px_per_mm(self) -> float:
        return self.dpi / MM_PER_INCH

    @property
    def touch_px(self) -> int:
        """Smallest side of anything touchable: 12 mm on the real panel."""
        return math.ceil(MIN_TOUCH_MM * self.px_per_mm)

    @property
    def text_scale(self) -> float:
        return LARGE_TEXT_SCALE if self.large_text else 1.0

    def font_px(self, level: str) -> int:
        """Font size in pixels: 's', 'm', 'l', 'xl' (base sizes are millimetres of cap height-ish)."""
        mm = {"s": 4.2, "m": 5.2, "l": 6.6, "xl": 9.0}[level]
        return round(mm * self.px_per_mm * self.text_scale)

    @property
    def colors(self) -> dict[str, tuple[float, float, float, float]]:
        palette = HIGH_CONTRAST if self.high_contrast else NORMAL
        names = ("bg", "surface", "text", "muted", "accent", "accent_text", "error_bg", "error_text", "ok_bg")
        return dict(zip(names, palette))
