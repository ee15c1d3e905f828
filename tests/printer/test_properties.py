"""Property tests: the simulator's parser on any bytes, the layout on any Unicode text."""
from __future__ import annotations

from dataclasses import replace

from escpos.printer import Dummy
from hypothesis import given
from hypothesis import strategies as st

from devices.printer.encoder import encode_layout
from devices.sim.escpos_paper import Paper
from devices.sim.escpos_parser import EscposParser
from devices.sim.escpos_render import record, render_png
from kiosk.domain.receipt import ReceiptItem
from kiosk.receipts.layout import TextLine, layout_receipt
from kiosk.receipts.samples import sample_receipt
from kiosk.receipts.text import charset, text_width, truncate, wrap
from tests.printer.helpers import print_bytes

COMMAND_BYTES = st.sampled_from([b"\x1b", b"\x1d", b"\x1c", b"\x10\x04", b"\x1dv0", b"\x1d(k", b"\x1b*", b"\n",
                                 b"\x1b@", b"\x1c&", b"\x1dV", b"\x1d!", b"\x1b!", b"\xb0", b"\xff", b"\x81\x30"])
STREAMS = st.lists(st.one_of(st.binary(max_size=24), COMMAND_BYTES), max_size=40).map(b"".join)


def _valid_job() -> bytes:
    p = Dummy()
    p.hw("INIT")
    p.textln("物业管理费 328.50 Grüße")
    p.set(align="center", double_width=True, double_height=True, bold=True)
    p.textln("缴费收据")
    p.qr("https://e.example.cn/r/1", native=True, size=4)
    p.qr("x", native=False)
    p.cut()
    return p.output


VALID_JOB = _valid_job()


@given(STREAMS, st.integers(min_value=1, max_value=64), st.booleans())
def test_parser_and_paper_survive_any_byte_stream(data, chunk, chinese):
    paper = Paper(paper_dots=384, chinese_default=chinese)
    parser = EscposParser()
    for i in range(0, len(data), chunk):
        for op in parser.feed(data[i:i + chunk]):
            paper.apply(op)
    parser.finish()
    done = paper.cut("full")
    assert all(row.dots <= 384 for row in done.rows if hasattr(row, "cells"))
    record(done, 384, 1, "x.png")


@given(st.integers(min_value=0, max_value=len(VALID_JOB)), st.integers(min_value=1, max_value=97))
def test_truncated_real_jobs_never_crash_and_keep_what_was_complete(cut_at, chunk):
    receipts = print_bytes(VALID_JOB[:cut_at], chunk=chunk)
    assert len(receipts) == (1 if cut_at == len(VALID_JOB) else 0)


@given(STREAMS)
def test_rendering_any_stream_stays_inside_the_paper(data):
    paper = Paper(paper_dots=384)
    for op in EscposParser().feed(data):
        paper.apply(op)
    image = render_png(paper.cut("full"), 384)
    assert image.width == 384 + 32


ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=600)


@given(ANY_TEXT, st.integers(min_value=2, max_value=48), st.sampled_from(["gb18030", "big5", "cp437"]))
def test_wrap_and_truncate_never_exceed_the_width(text, columns, name):
    cs = charset(name)
    assert all(text_width(line, cs) <= columns for line in wrap(text, columns, cs))
    assert text_width(truncate(text, columns, cs), cs) <= columns
    cs.encode("".join(wrap(text, columns, cs))).decode(cs.codec)  # printable text always encodes cleanly


@given(ANY_TEXT, ANY_TEXT, st.sampled_from([32, 42, 48]), st.sampled_from(["gb18030", "big5"]))
def test_any_names_and_notes_lay_out_within_the_paper(name, note, columns, encoding):
    doc = replace(sample_receipt(), site_name=name, title=note[:40], household=name,
                  items=(ReceiptItem(name, 12345, note), ReceiptItem(note, -5)),
                  fields=((name, note),), notes=(note,), payment_method=name, closing=note, qr_url=note)
    layout = layout_receipt(doc, columns, encoding)
    for line in layout.elements:
        if isinstance(line, TextLine):
            assert layout.cells(line) <= columns
            assert "\n" not in line.text and "\x1b" not in line.text


@given(ANY_TEXT, st.sampled_from([(32, 384), (48, 576)]))
def test_any_text_prints_without_the_printer_wrapping_a_line(text, size):
    columns, dots = size
    doc = replace(sample_receipt(), items=(ReceiptItem(text, 100, text),), notes=(text,), qr_url="")
    [receipt] = print_bytes(encode_layout(layout_receipt(doc, columns), paper_dots=dots), paper_dots=dots)
    assert receipt.wrapped_lines == 0
