"""Printable text: what the printer can encode, how wide it is, how it wraps and truncates."""
from __future__ import annotations

import pytest

from kiosk.receipts.text import charset, printable, take, text_width, truncate, wrap

GB = charset("gb18030")
BIG5 = charset("big5")
CP437 = charset("cp437")


def test_cjk_counts_double_and_ascii_single():
    assert text_width(printable("物业费 abc", GB), GB) == 3 * 2 + 1 + 3


def test_fullwidth_punctuation_and_ambiguous_symbols_count_double_in_chinese_mode():
    assert text_width(printable("，·", GB), GB) == 4


def test_emoji_and_rare_cjk_are_replaced_visibly_in_gb18030():
    # U+1F600 and the extension-B ideograph U+20BB7 only have 4-byte GB18030 forms: no printer glyph
    assert printable("a😀b\U00020BB7c", GB) == "a?b?c"


def test_simplified_only_characters_are_replaced_in_big5():
    assert printable("2栋-棟", BIG5) == "2?-棟"


def test_control_characters_become_spaces_and_never_reach_the_printer():
    assert printable("a\tb\nc\x1b@d\x00", GB) == "a b c @d "


def test_zero_width_joiners_and_combining_marks_are_dropped():
    assert printable("e\u0301", CP437) == "é"  # NFC composes it first
    assert printable("x\u0301\u200d\ufe0f", GB) == "x"


def test_code_page_charset_replaces_what_it_cannot_encode():
    assert printable("Müller 中", CP437) == "Müller ?"
    assert text_width("Müller ?", CP437) == 8


def test_wrap_keeps_words_whole_when_they_fit():
    assert wrap("No change given: 12.00 credited to your account", 20, GB) == [
        "No change given:", "12.00 credited to", "your account"]


def test_wrap_breaks_cjk_between_any_two_characters():
    lines = wrap("物业管理费物业管理费物业管理费", 10, GB)
    assert lines == ["物业管理费", "物业管理费", "物业管理费"]


def test_wrap_splits_a_word_longer_than_the_line():
    assert wrap("x" * 25, 10, GB) == ["x" * 10, "x" * 10, "x" * 5]


def test_wrap_never_splits_a_wide_character_across_the_edge():
    lines = wrap("a物业管理", 4, GB)
    assert all(text_width(line, GB) <= 4 for line in lines)
    assert "".join(lines) == "a物业管理"


@pytest.mark.parametrize("cs", [GB, CP437], ids=["gb18030", "cp437"])
def test_truncate_marks_the_cut_and_fits(cs):
    cut = truncate("Property management fee for the whole year", 16, cs)
    assert text_width(cut, cs) <= 16
    assert cut.endswith("\u2026" if cs.double_byte else "...")


def test_truncate_leaves_text_that_fits_alone():
    assert truncate("水费", 4, GB) == "水费"


def test_take_stops_before_a_wide_character_that_would_overflow():
    assert take("ab物", 3, GB) == "ab"


def test_unknown_charset_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="gb18030"):
        charset("shift_jis")


def test_closing_punctuation_never_starts_a_line():
    lines = wrap("不设找零：已存入您的账户。谢谢", 24, GB)
    assert lines == ["不设找零：已存入您的账", "户。谢谢"]
