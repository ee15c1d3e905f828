"""Pictures and records of simulated receipts: a PNG drawn with a CJK font and a JSON summary."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from devices.sim.escpos_paper import Cell, FeedRow, ImageRow, PrintedReceipt, TextRow

DEFAULT_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
MARGIN = 16  # white border around the paper in the picture


class FontMissing(RuntimeError):
    """No usable font file for the receipt pictures."""


@lru_cache(maxsize=8)
def load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(path, size)
    except OSError as exc:
        raise FontMissing(f"cannot load font {path}: {exc}") from exc


@lru_cache(maxsize=8192)
def _glyph(char: str, base_w: int, wide: bool, bold: bool, font_path: str) -> Image.Image:
    """One character drawn black on white into its cell (base size, before width/height scaling),
    on a common baseline; a glyph wider than its cell is squeezed, never allowed to overflow."""
    tile = Image.new("L", (base_w, 24), 255)
    if not char.strip():
        return tile
    font = load_font(font_path, 22 if wide else (20 if base_w >= 12 else 15))
    stroke = 1 if bold else 0
    advance = int(font.getlength(char)) + 2 * stroke
    canvas = tile if advance <= base_w else Image.new("L", (advance, 24), 255)
    ImageDraw.Draw(canvas).text((canvas.width / 2, 20), char, font=font, fill=0, anchor="ms",
                                stroke_width=stroke, stroke_fill=0)
    return canvas if canvas is tile else canvas.resize((base_w, 24))


def _cell_image(cell: Cell, font_path: str) -> Image.Image:
    base_w = 24 if cell.wide else (9 if cell.font_b else 12)
    tile = _glyph(cell.char, base_w, cell.wide, cell.bold, font_path)
    if tile.size != (cell.dots, cell.height):
        tile = tile.resize((cell.dots, cell.height))
    if cell.underline:
        tile = tile.copy()
        ImageDraw.Draw(tile).line([(0, cell.height - 2), (cell.dots, cell.height - 2)], fill=0, width=2)
    if cell.invert:
        tile = Image.eval(tile, lambda v: 255 - v)
    return tile


def _x_for(align: int, width: int, paper_dots: int) -> int:
    if align == 1:
        return max(0, (paper_dots - width) // 2)
    if align == 2:
        return max(0, paper_dots - width)
    return 0


def render_png(receipt: PrintedReceipt, paper_dots: int, font_path: str = DEFAULT_FONT) -> Image.Image:
    """The receipt as it would come out of the printer (grey border = outside the paper)."""
    height = max(1, receipt.height)
    page = Image.new("L", (paper_dots + 2 * MARGIN, height + 2 * MARGIN), 200)
    page.paste(255, (MARGIN, MARGIN, MARGIN + paper_dots, MARGIN + height))
    y = MARGIN
    for row in receipt.rows:
        if isinstance(row, TextRow):
            x = MARGIN + _x_for(row.align, row.dots, paper_dots)
            tallest = max((c.height for c in row.cells), default=24)
            for cell in row.cells:
                tile = _cell_image(cell, font_path)
                page.paste(tile, (x, y + tallest - cell.height))
                x += cell.dots
            y += row.height
        elif isinstance(row, ImageRow):
            img = row.image.convert("L")
            page.paste(img, (MARGIN + _x_for(row.align, img.width, paper_dots), y))
            y += img.height
        elif isinstance(row, FeedRow):
            y += row.dots
    return page


def record(receipt: PrintedReceipt, paper_dots: int, sequence: int, png_name: str, **extra: object) -> dict:
    """The structured record of a receipt, stored beside its PNG."""
    rows = []
    for row in receipt.rows:
        if isinstance(row, TextRow):
            rows.append({"text": row.text, "align": ["left", "center", "right"][row.align] if row.align in (0, 1, 2) else "left",
                         "dots": row.dots, "bold": any(c.bold for c in row.cells),
                         "double": any(c.height > 24 for c in row.cells)})
        elif isinstance(row, ImageRow):
            rows.append({"image": row.source, "width": row.image.width, "height": row.image.height})
    return {
        "sequence": sequence,
        "png": png_name,
        "paper_dots": paper_dots,
        "lines": receipt.text_lines(),
        "rows": rows,
        "qr_codes": receipt.qr_codes,
        "cut": receipt.cut,
        "complete": receipt.complete,
        "wrapped_lines": receipt.wrapped_lines,
        "widest_line_dots": max([r.dots for r in receipt.rows if isinstance(r, TextRow)], default=0),
        "errors": receipt.errors,
        "unknown_commands": receipt.unknown_commands,
        **extra,
    }


def save(receipt: PrintedReceipt, out_dir: Path, sequence: int, paper_dots: int, font_path: str = DEFAULT_FONT,
         **extra: object) -> dict:
    """Write receipt-NNNN.png and receipt-NNNN.json into out_dir; returns the record."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"receipt-{sequence:04d}"
    render_png(receipt, paper_dots, font_path).save(out_dir / f"{stem}.png")
    data = record(receipt, paper_dots, sequence, f"{stem}.png", **extra)
    (out_dir / f"{stem}.json").write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return data
