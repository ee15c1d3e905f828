"""The one CSV writer: a text cell that a spreadsheet would run as a formula is written as text; amounts stay numbers."""
from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.services.csv_export import FORMULA_STARTS, csv_text, escape_cell


def _read(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("cell", ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1+1", "\r=1+1",
                                  "=HYPERLINK(\"http://x\",\"y\")"])
def test_a_text_cell_that_starts_a_formula_is_written_with_an_apostrophe(cell):
    [header, row] = _read(csv_text(["note"], [[cell]]))
    assert header == ["note"]
    assert row == ["'" + cell]


def test_ordinary_text_and_formula_signs_inside_a_cell_are_left_as_they_are():
    [_, row] = _read(csv_text(["a", "b", "c"], [["缴费 1-0302", "a=b", "voids 00000001: =x"]]))
    assert row == ["缴费 1-0302", "a=b", "voids 00000001: =x"]


def test_negative_amounts_in_fen_and_yuan_stay_numbers():
    [_, row] = _read(csv_text(["fen", "yuan"], [[-1234, Decimal("-12.34")]]))
    assert row == ["-1234", "-12.34"]
    assert int(row[0]) == -1234 and Decimal(row[1]) == Decimal("-12.34")


def test_a_negative_amount_given_as_text_is_escaped_so_amounts_must_be_passed_as_numbers():
    assert escape_cell("-12.34") == "'-12.34"
    assert escape_cell(None) == "" and escape_cell(True) == "true"


@given(st.text())
def test_no_text_cell_read_back_starts_a_formula_and_the_original_text_is_kept(text):
    [_, row] = _read(csv_text(["x"], [[text]]))
    [cell] = row
    assert not cell.startswith(FORMULA_STARTS)
    # csv.reader hands back the cell as written (newlines inside quotes included): the text itself is kept
    assert cell in (text, "'" + text)
