"""Icons (Kivy-free): Material Design Icons glyphs by name, from Debian's fonts-materialdesignicons-webfont.

The font is SIL OFL 1.1 and the icons CC-BY 4.0 (Austin Andrews and Google; credited in docs/ui.md and the
README), so the kiosk may ship and draw them. Names are those of the package's CSS (MDI 1.6.50,
`.mdi-cash:before { content: "\\F114"; }`); the map is read from that CSS once, so no code point is typed by
hand. Icons are drawn as text in the theme's colours (`KIcon`, `IconTile` in screens/widgets.py).
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from kiosk.errors import ConfigError

ICON_FONT = "KioskIcons"
PACKAGE = "fonts-materialdesignicons-webfont"
FONT_FILE = Path("/usr/share/fonts/truetype/materialdesignicons-webfont/materialdesignicons-webfont.ttf")
CSS_FILE = Path("/usr/share/fonts-materialdesignicons-webfont/css/materialdesignicons.css")
_RULE = re.compile(r'\.mdi-([a-z0-9-]+):before\s*\{\s*content:\s*"\\([0-9A-Fa-f]+)"')


def icon_font_file() -> Path:
    if not FONT_FILE.is_file():
        raise ConfigError(f"icon font not found: {FONT_FILE} (Debian package {PACKAGE})", key="icons")
    return FONT_FILE


@lru_cache(maxsize=1)
def codepoints() -> dict[str, int]:
    """Icon name -> code point, from the package's CSS."""
    try:
        css = CSS_FILE.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"icon names not found: {CSS_FILE} (Debian package {PACKAGE})", key="icons") from exc
    return {name: int(code, 16) for name, code in _RULE.findall(css)}


def icon(name: str) -> str:
    """The glyph of icon `name` ('' for an empty name); an unknown name is a programming error."""
    if not name:
        return ""
    try:
        return chr(codepoints()[name])
    except KeyError:
        raise KeyError(f"no Material Design icon named {name!r} in {CSS_FILE}") from None
