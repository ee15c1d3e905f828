#!/usr/bin/env python3
"""One PNG per language that tiles every page, so a reviewer sees the whole product at a glance.

Usage: python scripts/contact_sheet.py docs/screenshots/<language> [...]
Reads <language>/portrait/*.png and <language>/landscape/*.png (what scripts/screenshots writes) and writes
<language>/contact-sheet.png: the portrait pages in rows, then the landscape pages, each thumbnail captioned
with its file name.
"""
from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

SHEET_WIDTH = 2400
GAP = 16
CAPTION_PX = 22
COLUMNS = {"portrait": 8, "landscape": 5}
FONT = "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf"


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(FONT, size)
    except OSError:
        return ImageFont.load_default()


def _section(pages: list[Path], columns: int) -> Image.Image | None:
    if not pages:
        return None
    thumb_w = (SHEET_WIDTH - GAP * (columns + 1)) // columns
    with Image.open(pages[0]) as first:
        thumb_h = round(thumb_w * first.height / first.width)
    rows = -(-len(pages) // columns)
    cell_h = thumb_h + CAPTION_PX + GAP
    sheet = Image.new("RGB", (SHEET_WIDTH, GAP + rows * cell_h), "white")
    draw, font = ImageDraw.Draw(sheet), _font(CAPTION_PX - 4)
    for i, page in enumerate(pages):
        x = GAP + (i % columns) * (thumb_w + GAP)
        y = GAP + (i // columns) * cell_h
        with Image.open(page) as image:
            thumb = image.convert("RGB")
            thumb.thumbnail((thumb_w, thumb_h), Image.Resampling.LANCZOS)
        sheet.paste(thumb, (x, y))
        draw.rectangle((x - 1, y - 1, x + thumb.width, y + thumb.height), outline=(120, 120, 120))
        draw.text((x, y + thumb_h + 2), page.stem, fill=(20, 20, 20), font=font)
    return sheet


def contact_sheet(folder: Path, title: str = "") -> Path:
    """Write folder/contact-sheet.png from folder/portrait and folder/landscape; returns its path."""
    parts = [part for orientation, columns in COLUMNS.items()
             if (part := _section(sorted((folder / orientation).glob("*.png")), columns)) is not None]
    if not parts:
        raise FileNotFoundError(f"no screenshots under {folder}/portrait or {folder}/landscape")
    head = 56
    sheet = Image.new("RGB", (SHEET_WIDTH, head + sum(p.height for p in parts)), "white")
    ImageDraw.Draw(sheet).text((GAP, 12), title or folder.name, fill=(0, 0, 0), font=_font(32))
    y = head
    for part in parts:
        sheet.paste(part, (0, y))
        y += part.height
    out = folder / "contact-sheet.png"
    sheet.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(out, optimize=True)
    return out


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(contact_sheet(Path(arg)))
