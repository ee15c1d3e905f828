"""The simulator is an honest decoder: it reads the bytes python-escpos itself produces."""
from __future__ import annotations

import pytest
import qrcode
from escpos.printer import Dummy
from PIL import Image, ImageDraw

from devices.sim.escpos_paper import ImageRow, TextRow
from devices.sim.escpos_parser import EscposParser, OpKind
from tests.printer.helpers import print_bytes


def _dummy() -> Dummy:
    p = Dummy()
    p.hw("INIT")
    return p


def test_chinese_text_from_python_escpos_is_read_as_gb18030():
    p = _dummy()
    p.textln("物业管理费 328.50")  # python-escpos sends raw GB18030 for Han text
    p.cut()
    [receipt] = print_bytes(p.output)
    assert receipt.text_lines()[0] == "物业管理费 328.50"
    row = receipt.rows[0]
    assert row.dots == 5 * 24 + 7 * 12


def test_big5_text_after_fs_ampersand_on_a_big5_printer():
    p = _dummy()
    p._raw(b"\x1c&" + "繳費收據 合計".encode("big5") + b"\n")
    p.cut()
    [receipt] = print_bytes(p.output, encoding="big5")
    assert receipt.text_lines()[0] == "繳費收據 合計"


@pytest.mark.parametrize("text", ["Grüße, café", "Ωμέγα", "€ 12,50", "Привет"])
def test_code_page_text_from_magic_encode(text):
    p = _dummy()
    p.textln(text)  # python-escpos picks code pages itself (ESC t n)
    p.cut()
    [receipt] = print_bytes(p.output, chinese_default=False)
    assert receipt.text_lines()[0] == text


def test_fs_dot_leaves_chinese_mode_for_code_pages():
    p = _dummy()
    p._raw(b"\x1c.")
    p.textln("café")
    p.cut()
    [receipt] = print_bytes(p.output, chinese_default=True)
    assert receipt.text_lines()[0] == "café"


def test_emphasis_sizes_and_alignment_from_set():
    p = _dummy()
    p.set(align="center", bold=True, double_width=True, double_height=True)
    p.textln("TITLE")
    p.set(align="right", bold=False, normal_textsize=True)
    p.textln("12.00")
    p.set(custom_size=True, width=3, height=2)
    p.textln("X")
    p.cut(mode="PART")
    [receipt] = print_bytes(p.output)
    title, amount, big = [r for r in receipt.rows if isinstance(r, TextRow) and r.cells]
    assert (title.align, title.cells[0].bold, title.cells[0].dots, title.cells[0].height) == (1, True, 24, 48)
    assert (amount.align, amount.cells[0].bold, amount.cells[0].dots) == (2, False, 12)
    assert (big.cells[0].dots, big.cells[0].height) == (36, 48)
    assert receipt.cut == "partial"


def test_native_qr_data_is_recovered():
    p = _dummy()
    p.qr("https://e.example.cn/r/K01-000123", native=True, size=5)
    p.cut()
    [receipt] = print_bytes(p.output)
    assert receipt.qr_codes == ["https://e.example.cn/r/K01-000123"]
    qr_rows = [r for r in receipt.rows if isinstance(r, ImageRow) and r.source == "qr"]
    modules = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_L, border=0)
    modules.add_data("https://e.example.cn/r/K01-000123")
    modules.make(fit=True)
    assert qr_rows[0].image.width == modules.modules_count * 5


def test_image_qr_arrives_as_the_exact_module_bitmap():
    data = "https://e.example.cn/r/1"
    p = _dummy()
    p.qr(data, native=False, size=3)
    p.cut()
    [receipt] = print_bytes(p.output)
    [row] = [r for r in receipt.rows if isinstance(r, ImageRow)]
    assert row.source == "raster"
    code = qrcode.QRCode(box_size=3, border=1, error_correction=qrcode.constants.ERROR_CORRECT_L)
    code.add_data(data)
    code.make(fit=True)
    matrix = code.get_matrix()  # includes the one-module border python-escpos asks for
    px = row.image.load()
    for y, line in enumerate(matrix):
        for x, dark in enumerate(line):
            assert (px[x * 3 + 1, y * 3 + 1] == 0) == dark, (x, y)


def test_raster_image_pixels_survive_the_trip():
    img = Image.new("RGB", (40, 10), "white")
    ImageDraw.Draw(img).rectangle((0, 0, 9, 9), fill="black")
    p = _dummy()
    p.image(img)
    p.cut()
    [receipt] = print_bytes(p.output)
    [row] = [r for r in receipt.rows if isinstance(r, ImageRow)]
    assert row.image.size == (40, 10)
    assert row.image.getpixel((5, 5)) == 0 and row.image.getpixel((20, 5)) == 255


def test_column_images_are_understood():
    img = Image.new("RGB", (16, 24), "black")
    p = _dummy()
    p.image(img, impl="bitImageColumn")
    p.cut()
    [receipt] = print_bytes(p.output)
    rows = [r for r in receipt.rows if isinstance(r, ImageRow)]
    assert rows and rows[0].source == "column" and rows[0].image.getpixel((3, 3)) == 0


def test_each_cut_closes_one_receipt():
    p = _dummy()
    for n in range(3):
        p.textln(f"receipt {n}")
        p.cut()
    receipts = print_bytes(p.output)
    assert [r.text_lines()[0] for r in receipts] == ["receipt 0", "receipt 1", "receipt 2"]
    assert all(r.cut == "full" for r in receipts)


def test_byte_at_a_time_gives_the_same_receipt():
    p = _dummy()
    p.textln("物业 fee")
    p.qr("abc", native=True)
    p.image(Image.new("RGB", (16, 4), "black"))
    p.cut()
    whole = print_bytes(p.output)[0]
    trickled = print_bytes(p.output, chunk=1)[0]
    assert whole.text_lines() == trickled.text_lines()
    assert whole.qr_codes == trickled.qr_codes == ["abc"]


def test_status_requests_are_reported_not_printed():
    ops = EscposParser().feed(b"\x10\x04\x01\x10\x04\x04")
    assert [(op.kind, op.n) for op in ops] == [(OpKind.STATUS, 1), (OpKind.STATUS, 4)]


def test_a_truncated_command_waits_for_the_rest():
    parser = EscposParser()
    assert parser.feed(b"\x1d\x76\x30\x00\x01\x00\x02") == []
    ops = parser.feed(b"\x00\xff\x00")
    assert [op.kind for op in ops] == [OpKind.RASTER]
    assert parser.finish() == 0


def test_a_stream_ending_inside_a_command_reports_the_dropped_bytes():
    parser = EscposParser()
    parser.feed(b"\x1d(k\x10\x00\x31\x50\x30abc")
    assert parser.finish() == 11


def test_lines_wider_than_the_paper_wrap_and_are_counted():
    p = _dummy()
    p.textln("x" * 50)
    p.cut()
    [receipt] = print_bytes(p.output, paper_dots=576)
    assert receipt.text_lines()[:2] == ["x" * 48, "x" * 2]
    assert receipt.wrapped_lines == 1


def test_a_dangling_lead_byte_prints_a_box_and_resyncs():
    [receipt] = print_bytes(b"\x1b@\x1c&a\xb0\n" + "中".encode("gb18030") + b"\n\x1dV\x00")
    assert receipt.text_lines()[:2] == ["a?", "中"]
