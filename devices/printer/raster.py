"""The baseline a receipt is measured against: the whole receipt sent as ONE raster image through python-escpos."""
from __future__ import annotations

import contextlib
import io

from PIL import Image, ImageOps

from devices.printer.preview import DOTS_FOR_COLUMNS, preview_image
from devices.sim.escpos_render import MARGIN
from kiosk.domain.receipt import ReceiptDocument


def raster_bytes(image: Image.Image, profile: str | None = None) -> bytes:
    """ESC @, the image as a single GS v 0 block (python-escpos `image`, no fragments), feed and cut."""
    from escpos.printer import Dummy

    dummy = Dummy(profile=profile)
    dummy.hw("INIT")
    with contextlib.redirect_stdout(io.StringIO()):  # python-escpos prints a note for profiles without a width
        dummy.image(image, fragment_height=image.height + 1)
    dummy.cut()
    return dummy.output


def raster_receipt_bytes(doc: ReceiptDocument, columns: int = 48, encoding: str = "gb18030",
                         profile: str | None = None) -> bytes:
    """The receipt drawn as the printer would print it, then sent as one picture."""
    dots = DOTS_FOR_COLUMNS[columns]
    page = preview_image(doc, columns, encoding, dots)
    paper = page.crop((MARGIN, MARGIN, MARGIN + dots, page.height - MARGIN))
    return raster_bytes(ImageOps.grayscale(paper).convert("RGB"), profile)
