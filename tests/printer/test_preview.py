"""PNG previews without a printer, and the one-raster-image baseline."""
from __future__ import annotations

import pytest
from PIL import Image

from devices.printer.preview import printed, render_preview
from devices.printer.raster import raster_receipt_bytes
from devices.sim.escpos_parser import EscposParser, OpKind
from kiosk.domain.receipt import ReceiptKind
from kiosk.receipts.samples import sample_receipt


@pytest.mark.parametrize("columns, dots", [(32, 384), (42, 512), (48, 576)])
def test_preview_is_as_wide_as_the_paper_and_shows_the_receipt(tmp_path, columns, dots):
    out = render_preview(sample_receipt(ReceiptKind.BILL_PAYMENT, "zh_Hant"), columns, tmp_path / "r.png", "big5")
    image = Image.open(out)
    assert image.width == dots + 32
    assert image.height > 600
    dark = image.convert("L").point(lambda v: 255 if v < 128 else 0).histogram()[255]
    assert dark > 5000  # text and a QR code were drawn, not a blank page


def test_preview_prints_what_the_printer_would():
    receipt = printed(sample_receipt(ReceiptKind.TOP_UP, "en"), 42)
    assert receipt.text_lines()[1] == "Top-up receipt"
    assert receipt.cut == "full" and receipt.wrapped_lines == 0


def test_raster_baseline_is_one_gs_v_0_image_of_the_whole_receipt():
    data = raster_receipt_bytes(sample_receipt(), 48)
    ops = EscposParser().feed(data)
    images = [op for op in ops if op.kind is OpKind.RASTER]
    assert len(images) == 1 and images[0].w * 8 == 576
    assert images[0].h > 600 and len(data) > 20 * 1024
