"""PNG preview of a ReceiptDocument without a printer: the real ESC/POS bytes drawn by the simulator's renderer."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PIL import Image

from devices.printer.encoder import encode_layout
from devices.sim.escpos_paper import Paper, PrintedReceipt
from devices.sim.escpos_parser import EscposParser
from devices.sim.escpos_render import DEFAULT_FONT, render_png
from kiosk.domain.receipt import ReceiptDocument
from kiosk.receipts.layout import layout_receipt

DOTS_FOR_COLUMNS = {32: 384, 42: 512, 48: 576}


def printed(doc: ReceiptDocument, columns: int = 48, encoding: str = "gb18030",
            paper_dots: int | None = None) -> PrintedReceipt:
    """The receipt as the simulated printer prints it from the bytes the driver would send."""
    dots = paper_dots or DOTS_FOR_COLUMNS[columns]
    data = encode_layout(layout_receipt(doc, columns, encoding), paper_dots=dots)
    paper = Paper(paper_dots=dots, encoding=encoding if encoding in ("gb18030", "big5") else "gb18030")
    parser = EscposParser()
    for op in parser.feed(data):
        done = paper.apply(op)
        if done is not None:
            return done
    return paper.cut("")


def preview_image(doc: ReceiptDocument, columns: int = 48, encoding: str = "gb18030",
                  paper_dots: int | None = None, font_path: str = DEFAULT_FONT) -> Image.Image:
    dots = paper_dots or DOTS_FOR_COLUMNS[columns]
    return render_png(printed(doc, columns, encoding, dots), dots, font_path)


def render_preview(doc: ReceiptDocument, columns: int, out_path: str | Path, encoding: str = "gb18030",
                   paper_dots: int | None = None, font_path: str = DEFAULT_FONT) -> Path:
    """Write the PNG a printer `columns` wide would produce for `doc`; returns the path."""
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    preview_image(doc, columns, encoding, paper_dots, font_path).save(out)
    return out


def previewer(columns: int = 48, encoding: str = "gb18030", paper_dots: int | None = None,
              font_path: str = DEFAULT_FONT) -> Callable[[ReceiptDocument, Path], Path]:
    """`render_preview` bound to the printer's settings: the `preview` callable kiosk.printing takes."""
    def preview(doc: ReceiptDocument, out_path: Path) -> Path:
        return render_preview(doc, columns, out_path, encoding, paper_dots, font_path)
    return preview
