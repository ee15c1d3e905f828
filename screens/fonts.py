"""One typeface per language (Kivy-free): Noto Sans CJK SC for Simplified, TC for Traditional, Noto Sans for English.

Debian's fonts-noto-cjk ships the CJK faces only as TrueType collections (.ttc: JP, KR, SC, TC, HK in one file),
and Kivy's SDL2 text provider always opens face 0 of a collection, which is the Japanese one: Chinese drawn with
Japanese glyph shapes. So the face of each language is copied out of the collection once (fontTools, about
0.3 s) into the cache folder and registered from there. English text is drawn with Noto Sans, the Latin family
Noto Sans CJK was designed to match; a label of English text that contains Chinese (a site or resident name)
falls back to the Simplified face, so nothing shows as boxes. Without the Noto fonts installed every language
uses `ui.font_path` (WenQuanYi Micro Hei by default) as before.
"""
from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

NOTO_CJK_DIR = Path("/usr/share/fonts/opentype/noto")
NOTO_DIR = Path("/usr/share/fonts/truetype/noto")
CJK_FACES = {"zh_Hans": "Noto Sans CJK SC", "zh_Hant": "Noto Sans CJK TC"}
FONT_NAMES = {"zh_Hans": "KioskSC", "zh_Hant": "KioskTC", "en": "KioskLatin"}
CJK_FALLBACK = {"zh_Hans": "KioskSC", "zh_Hant": "KioskTC", "en": "KioskSC"}
_CJK = re.compile(r"[\u25a0-\u25ff\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")


@dataclass(frozen=True)
class FontFiles:
    regular: str
    bold: str


def has_cjk(text: str) -> bool:
    """True when `text` has a character the Latin face cannot draw (CJK ideographs, kana, full-width forms, and
    geometric shapes such as the PIN pad's dots ●, which Noto Sans lacks)."""
    return bool(_CJK.search(text or ""))


def font_cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "estate-kiosk" / "fonts"


def _face_from_collection(collection: Path, family: str, out: Path) -> Path | None:
    """Copy the face named `family` out of a .ttc into `out` (once; atomically)."""
    if out.is_file() and out.stat().st_mtime >= collection.stat().st_mtime:
        return out
    from fontTools.ttLib import TTCollection

    fonts = TTCollection(str(collection), lazy=True)
    try:
        for font in fonts.fonts:
            if font["name"].getDebugName(1) == family:
                out.parent.mkdir(parents=True, exist_ok=True)
                tmp = out.with_suffix(f".{os.getpid()}.tmp")
                font.save(str(tmp))
                os.replace(tmp, out)
                return out
    finally:
        fonts.close()
    return None


def language_fonts(fallback: str, cache: Path | None = None) -> dict[str, FontFiles]:
    """Font files per language name of FONT_NAMES; `fallback` (one file) where the Noto fonts are missing."""
    cache = cache or font_cache_dir()
    files: dict[str, FontFiles] = {}
    for language, family in CJK_FACES.items():
        weights = []
        for weight in ("Regular", "Bold"):
            collection = NOTO_CJK_DIR / f"NotoSansCJK-{weight}.ttc"
            out = cache / f"{family.replace(' ', '')}-{weight}.otf"
            try:
                face = _face_from_collection(collection, family, out) if collection.is_file() else None
            except (OSError, ImportError) as exc:  # a broken font file or no fontTools: the fallback still draws
                log.warning("cannot extract %s from %s: %s", family, collection, exc)
                face = None
            weights.append(str(face) if face else fallback)
        files[FONT_NAMES[language]] = FontFiles(*weights)
    latin = [NOTO_DIR / f"NotoSans-{w}.ttf" for w in ("Regular", "Bold")]
    files[FONT_NAMES["en"]] = FontFiles(*(str(p) if p.is_file() else fallback for p in latin)) \
        if all(p.is_file() for p in latin) else files[FONT_NAMES["zh_Hans"]]
    if any(f.regular == fallback for f in files.values()):
        log.warning("Noto fonts not found (Debian packages fonts-noto-cjk, fonts-noto-core): using %s", fallback)
    return files
