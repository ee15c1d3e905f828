"""ESC/POS bytes for a layout: mode switch, raw encoded text, native QR, styles sent only on change."""
from __future__ import annotations

import pytest
from PIL import Image

from devices.printer.encoder import encode_layout, fit_logo, qr_module_dots
from devices.sim.escpos_paper import ImageRow
from kiosk.domain.receipt import ReceiptKind
from kiosk.receipts.layout import Align, TextLine, layout_receipt
from kiosk.receipts.samples import sample_receipt
from tests.printer.helpers import print_bytes

DOTS = {32: 384, 42: 512, 48: 576}


def test_gb18030_job_starts_with_init_and_chinese_mode():
    data = encode_layout(layout_receipt(sample_receipt(), 48))
    assert data.startswith(b"\x1b@\x1c&")
    assert "翠湖花园".encode("gb18030") in data


def test_big5_job_sends_big5_bytes():
    data = encode_layout(layout_receipt(sample_receipt(language="zh_Hant"), 42, "big5"))
    assert "繳費收據".encode("big5") in data
    assert "繳費收據".encode("gb18030") not in data


def test_code_page_job_leaves_chinese_mode_and_selects_the_page():
    data = encode_layout(layout_receipt(sample_receipt(language="en"), 42, "cp858"))
    assert data.startswith(b"\x1b@\x1c.\x1bt\x13")


def test_qr_is_native_and_no_raster_image_is_sent():
    data = encode_layout(layout_receipt(sample_receipt(), 48))
    assert b"\x1d(k" in data and b"https://e.example.cn/r/K01-000123" in data
    assert b"\x1dv0" not in data


def test_fee_receipt_with_qr_fits_in_two_kilobytes():
    for columns in (32, 42, 48):
        assert len(encode_layout(layout_receipt(sample_receipt(), columns), paper_dots=DOTS[columns])) <= 2048


def test_styles_are_sent_only_when_they_change():
    data = encode_layout(layout_receipt(sample_receipt(), 48))
    assert data.count(b"\x1bE\x01") == 2  # the bold heading block and the total line
    assert data.count(b"\x1d!\x11") == 1  # site name and title share one double-size block
    assert data.count(b"\x1d!\x00") == 1  # back to normal size once


def test_job_ends_with_feed_and_cut():
    assert encode_layout(layout_receipt(sample_receipt(), 48)).endswith(b"\x1bd\x06\x1dV\x00")


@pytest.mark.parametrize("columns", [32, 42, 48])
@pytest.mark.parametrize("language,encoding", [("zh_Hans", "gb18030"), ("zh_Hant", "big5"), ("en", "gb18030")])
def test_printed_lines_are_the_layout_lines_with_nothing_wrapped(language, encoding, columns):
    layout = layout_receipt(sample_receipt(ReceiptKind.BILL_PAYMENT, language), columns, encoding)
    [receipt] = print_bytes(encode_layout(layout, paper_dots=DOTS[columns]), paper_dots=DOTS[columns],
                            encoding=encoding)
    printed = [line for line in receipt.text_lines() if line]
    expected = [line.text.rstrip() for line in layout.elements if isinstance(line, TextLine) and line.text.strip()]
    assert printed == expected
    assert receipt.wrapped_lines == 0
    assert receipt.qr_codes == [sample_receipt().qr_url]


def test_alignment_reaches_the_paper():
    layout = layout_receipt(sample_receipt(language="en"), 48)
    [receipt] = print_bytes(encode_layout(layout))
    closing = next(r for r in receipt.rows if getattr(r, "text", "") == "Thank you. Goodbye!")
    assert closing.align == 1
    assert next(e for e in layout.elements if getattr(e, "text", "") == "Thank you. Goodbye!").align is Align.CENTER


def test_qr_module_fits_half_the_paper():
    module = qr_module_dots("https://e.example.cn/r/K01-000123?s=9f3a", 384)
    assert 3 <= module <= 8
    [receipt] = print_bytes(encode_layout(layout_receipt(sample_receipt(), 32), paper_dots=384), paper_dots=384)
    qr = next(r for r in receipt.rows if isinstance(r, ImageRow))
    assert qr.image.width <= 384 // 2


def test_logo_is_printed_first_and_scaled_to_the_paper(tmp_path):
    path = tmp_path / "logo.png"
    Image.new("RGB", (800, 100), "black").save(path)
    logo = fit_logo(str(path), 576)
    assert logo.size == (576, 72)
    [receipt] = print_bytes(encode_layout(layout_receipt(sample_receipt(), 48), logo=logo))
    assert isinstance(receipt.rows[0], ImageRow) and receipt.rows[0].image.size == (576, 72)
