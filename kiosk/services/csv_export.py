"""The one CSV writer for every file the kiosk writes for the office: text cells cannot become spreadsheet formulas.

A spreadsheet (Excel, LibreOffice, WPS) runs a cell that starts with `=`, `+`, `-` or `@` as a formula, and tab or
carriage return at the start can smuggle one past a check ("CSV injection", OWASP). Every text cell (`str`) that
starts with one of those characters is written with a leading apostrophe, which spreadsheets show as text and hide.

Amounts stay machine-readable: cells given as `int` (fen) or `Decimal` (yuan) are numbers the kiosk computed, never
text a person typed, and are written as they are, so a negative amount is `-1234` / `-12.34`, not `'-12.34`. Text
that was imported with such a prefix (a bill reference, a notice title) is stored exactly as given; only what is
written out is escaped.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"

Cell = str | int | Decimal | None


def escape_cell(value: Cell) -> str | int | Decimal:
    """A cell as it is written: numbers as they are, text with a leading apostrophe when it could run as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):  # a bool is an int to Python: write it as the word it is
        return str(value).lower()
    if isinstance(value, (int, Decimal)):
        return value
    text = str(value)
    return ESCAPE + text if text.startswith(FORMULA_STARTS) else text


class CsvWriter:
    """csv.writer with every cell escaped. Rows end in CRLF (RFC 4180): Python quotes a cell holding any character
    of the line terminator, so a carriage return inside a cell is quoted too (with '\\n' alone it went out bare, and
    a spreadsheet broke the row there)."""

    def __init__(self, out: io.TextIOBase | io.StringIO) -> None:
        self._writer = csv.writer(out, lineterminator="\r\n")

    def row(self, cells: Iterable[Cell]) -> None:
        self._writer.writerow([escape_cell(c) for c in cells])

    def rows(self, rows: Iterable[Iterable[Cell]]) -> None:
        for cells in rows:
            self.row(cells)


def csv_text(header: Iterable[str], rows: Iterable[Iterable[Cell]]) -> str:
    """A whole CSV file as text: the header, then the rows, every cell escaped."""
    out = io.StringIO()
    writer = CsvWriter(out)
    writer.row(header)
    writer.rows(rows)
    return out.getvalue()
