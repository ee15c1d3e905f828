"""Receipt layout in zh_Hans, zh_Hant and en at 32, 42 and 48 columns."""
from __future__ import annotations

from dataclasses import replace

import pytest

from kiosk.domain.receipt import ReceiptItem, ReceiptKind
from kiosk.receipts.layout import Align, Cut, QrBlock, TextLine, layout_receipt
from kiosk.receipts.samples import sample_receipt
from kiosk.receipts.text import text_width

LANGS = {"zh_Hans": "gb18030", "zh_Hant": "big5", "en": "gb18030"}


@pytest.mark.parametrize("columns", [32, 42, 48])
@pytest.mark.parametrize("language", list(LANGS))
def test_every_line_fits_the_paper(language, columns):
    for kind in ReceiptKind:
        layout = layout_receipt(sample_receipt(kind, language), columns, LANGS[language])
        for line in layout.text_lines():
            assert layout.cells(line) <= columns, (kind, line)


@pytest.mark.parametrize("columns", [32, 42, 48])
@pytest.mark.parametrize("language", list(LANGS))
def test_fee_receipt_shows_number_items_total_qr_and_ends_with_a_cut(language, columns):
    doc = sample_receipt(ReceiptKind.BILL_PAYMENT, language)
    layout = layout_receipt(doc, columns, LANGS[language])
    texts = [line.text for line in layout.text_lines()]
    assert any(t.endswith("R20261128-000123") for t in texts)
    for amount in ("328.50", "46.20", "187.30"):
        assert any(t.endswith(amount) and text_width(t, layout.charset) == columns for t in texts), amount
    total = next(line for line in layout.text_lines() if line.text.endswith("562.00"))
    assert total.bold and text_width(total.text, layout.charset) == columns
    assert QrBlock(doc.qr_url) in layout.elements
    assert isinstance(layout.elements[-1], Cut)
    assert any(doc.closing.rstrip("!！") in t for t in texts)


@pytest.mark.parametrize("columns", [32, 42, 48])
def test_amounts_line_up_on_the_right_edge(columns):
    layout = layout_receipt(sample_receipt(ReceiptKind.BILL_PAYMENT, "zh_Hans"), columns)
    rows = [line.text for line in layout.text_lines() if line.text[-3:-2] == "." and line.text[-1].isdigit()]
    assert len(rows) >= 4
    assert {text_width(row, layout.charset) for row in rows} == {columns}


def test_title_is_double_size_only_when_it_fits_half_the_width():
    doc = sample_receipt(ReceiptKind.BILL_PAYMENT, "en")
    narrow = layout_receipt(doc, 32).text_lines()
    wide = layout_receipt(doc, 48).text_lines()
    assert not narrow[0].double and narrow[0].bold  # 32-cell site name cannot be doubled in 32 columns
    assert wide[1].double and wide[1].align is Align.CENTER


def test_a_500_character_item_name_wraps_to_three_lines_with_an_ellipsis():
    doc = sample_receipt(ReceiptKind.BILL_PAYMENT, "zh_Hans")
    doc = replace(doc, items=(ReceiptItem("超长名称" * 125, 1234),))
    layout = layout_receipt(doc, 32)
    lines = [line.text for line in layout.text_lines()]
    start = next(i for i, t in enumerate(lines) if t.endswith("12.34"))
    assert lines[start + 2].endswith("\u2026")
    assert not lines[start + 3].startswith("超长")
    assert all(text_width(t, layout.charset) <= 32 for t in lines)


def test_a_long_label_and_value_go_on_separate_lines_right_aligned():
    doc = replace(sample_receipt(ReceiptKind.CALLBACK, "en"), fields=(("Reference number given to you", "X" * 40),))
    layout = layout_receipt(doc, 32)
    lines = layout.text_lines()
    index = next(i for i, line in enumerate(lines) if line.text.startswith("Reference number"))
    assert lines[index + 1].align is Align.RIGHT and lines[index + 1].text == "X" * 32


def test_unprintable_characters_are_replaced_not_dropped():
    doc = replace(sample_receipt(ReceiptKind.BILL_PAYMENT, "zh_Hant"), household="2栋-**03")
    texts = [line.text for line in layout_receipt(doc, 42, "big5").text_lines()]
    assert any(t.endswith("2?-**03") for t in texts)


def test_a_qr_payload_too_large_for_paper_is_printed_as_text():
    doc = replace(sample_receipt(ReceiptKind.BILL_PAYMENT, "en"), qr_url="https://x.example/" + "a" * 700)
    layout = layout_receipt(doc, 48)
    assert not any(isinstance(e, QrBlock) for e in layout.elements)
    assert any(line.text.startswith("https://x.example/") for line in layout.text_lines())


def test_void_amounts_are_negative():
    texts = [line.text for line in layout_receipt(sample_receipt(ReceiptKind.VOID, "en"), 42).text_lines()]
    assert any(t.endswith("-562.00") for t in texts)


def test_missing_captions_fall_back_to_translated_defaults():
    doc = replace(sample_receipt(ReceiptKind.BILL_PAYMENT, "en"), labels={})
    texts = [line.text for line in layout_receipt(doc, 42).text_lines()]
    assert any(t.startswith("Receipt No.") for t in texts)


def test_unsupported_width_is_refused():
    with pytest.raises(ValueError, match="32, 42, 48"):
        layout_receipt(sample_receipt(), 40)


def test_lines_are_plain_text_lines_or_known_elements():
    layout = layout_receipt(sample_receipt(), 42)
    assert all(isinstance(e, (TextLine, QrBlock, Cut)) or type(e).__name__ == "Feed" for e in layout.elements)
