"""Lay a ReceiptDocument out as printable lines for 32, 42 or 48 columns (the form printers and previews consume)."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kiosk.domain.money import Money
from kiosk.domain.site_clock import wall_text
from kiosk.domain.receipt import ReceiptDocument, ReceiptItem
from kiosk.i18n import N_, translate
from kiosk.receipts.text import (
    Charset,
    charset,
    ellipsis,
    pad_between,
    printable,
    take,
    text_width,
    truncate,
    wrap,
)

SUPPORTED_COLUMNS = (32, 42, 48)
MAX_ITEM_LINES = 3  # a longer item name is cut with an ellipsis on its third line
MAX_HEADER_LINES = 2
MAX_NOTE_LINES = 8
MAX_QR_BYTES = 600  # larger payloads make a code too dense for 80 mm paper; printed as text instead

DEFAULT_CAPTIONS: dict[str, str] = {
    "number": N_("Receipt No."),
    "time": N_("Time"),
    "kiosk": N_("Kiosk"),
    "household": N_("Household"),
    "total": N_("Total"),
    "payment_method": N_("Payment"),
}


class Align(StrEnum):
    LEFT = "left"
    CENTER = "center"
    RIGHT = "right"


@dataclass(frozen=True)
class TextLine:
    """One printed line. `text` is printable in the layout's charset and fits the paper:
    text_width(text) <= columns, or <= columns // 2 when `double` (double width and height)."""

    text: str
    align: Align = Align.LEFT
    bold: bool = False
    double: bool = False


@dataclass(frozen=True)
class QrBlock:
    """A QR code the printer draws itself (GS ( k), centred."""

    data: str


@dataclass(frozen=True)
class Feed:
    lines: int = 1


@dataclass(frozen=True)
class Cut:
    """Feed past the cutter and cut."""


Element = TextLine | QrBlock | Feed | Cut


@dataclass(frozen=True)
class ReceiptLayout:
    columns: int
    charset: Charset
    elements: tuple[Element, ...]

    def text_lines(self) -> list[TextLine]:
        return [e for e in self.elements if isinstance(e, TextLine)]

    def cells(self, line: TextLine) -> int:
        """Cells the line takes on paper (double-size text takes twice its width)."""
        return text_width(line.text, self.charset) * (2 if line.double else 1)


def _caption(doc: ReceiptDocument, key: str) -> str:
    if doc.labels.get(key):
        return doc.labels[key]
    try:
        return translate(DEFAULT_CAPTIONS[key], doc.language)
    except ValueError:  # a language the catalogs do not know: the English msgid still prints
        return DEFAULT_CAPTIONS[key]


def _limited(text: str, width: int, cs: Charset, max_lines: int) -> list[str]:
    lines = wrap(text, width, cs)
    if len(lines) <= max_lines:
        return lines
    mark = ellipsis(cs)
    last = take(lines[max_lines - 1], width - text_width(mark, cs), cs) + mark
    return lines[: max_lines - 1] + [last]


class _Builder:
    def __init__(self, columns: int, cs: Charset) -> None:
        self.columns = columns
        self.cs = cs
        self.out: list[Element] = []

    def text(self, text: str, align: Align = Align.LEFT, bold: bool = False, max_lines: int = 1000) -> None:
        for line in _limited(text, self.columns, self.cs, max_lines):
            self.out.append(TextLine(line, align, bold))

    def heading(self, text: str, max_lines: int = MAX_HEADER_LINES) -> None:
        """Double size when the whole text fits in half the columns, else bold at normal size."""
        clean = printable(text, self.cs).strip()
        if not clean:
            return
        if text_width(clean, self.cs) * 2 <= self.columns:
            self.out.append(TextLine(clean, Align.CENTER, True, True))
        else:
            self.text(clean, Align.CENTER, True, max_lines)

    def rule(self) -> None:
        self.out.append(TextLine("-" * self.columns))

    def row(self, label: str, value: str, bold: bool = False) -> None:
        """Label on the left, value on the right; on two or more lines when they do not fit."""
        left = truncate(label, self.columns, self.cs).strip()
        right = printable(value, self.cs).strip()
        if not left and not right:
            return
        line = pad_between(left, right, self.columns, self.cs)
        if line is not None:
            self.out.append(TextLine(line, Align.LEFT, bold))
            return
        self.out.append(TextLine(left, Align.LEFT, bold))
        for part in _limited(right, self.columns, self.cs, MAX_ITEM_LINES):
            self.out.append(TextLine(part, Align.RIGHT, bold))

    def item(self, item: ReceiptItem) -> None:
        amount = Money(item.amount_fen).plain()
        room = self.columns - len(amount) - 1
        if room < self.columns // 2:  # an absurd amount: label and amount on lines of their own
            self.text(item.label, max_lines=MAX_ITEM_LINES)
            self.out.append(TextLine(amount, Align.RIGHT))
        else:
            lines = _limited(item.label, room, self.cs, MAX_ITEM_LINES)
            first = pad_between(lines[0], amount, self.columns, self.cs)
            self.out.append(TextLine(first if first is not None else amount, Align.LEFT))
            self.out.extend(TextLine(line) for line in lines[1:])
        if item.detail.strip():
            for line in _limited(item.detail, self.columns - 2, self.cs, MAX_ITEM_LINES):
                self.out.append(TextLine("  " + line))


def layout_receipt(doc: ReceiptDocument, columns: int = 42, charset_name: str = "gb18030") -> ReceiptLayout:
    """The printable form of a receipt for paper `columns` wide in a printer `charset_name`."""
    if columns not in SUPPORTED_COLUMNS:
        raise ValueError(f"columns must be one of {SUPPORTED_COLUMNS}, got {columns}")
    cs = charset(charset_name)
    b = _Builder(columns, cs)
    b.heading(doc.site_name)
    b.heading(doc.title)
    b.rule()
    b.row(_caption(doc, "number"), doc.number)
    b.row(_caption(doc, "time"), wall_text(doc.issued_at, "%Y-%m-%d %H:%M:%S"))
    b.row(_caption(doc, "kiosk"), doc.kiosk_id)
    if doc.household.strip():
        b.row(_caption(doc, "household"), truncate(doc.household, columns // 2, cs))
    if doc.items:
        b.rule()
        for item in doc.items:
            b.item(item)
    if doc.total_fen is not None or doc.payment_method or doc.fields:
        b.rule()
    if doc.total_fen is not None:
        b.row(doc.total_label or _caption(doc, "total"), Money(doc.total_fen).plain(), bold=True)
    if doc.payment_method.strip():
        b.row(_caption(doc, "payment_method"), doc.payment_method)
    for label, value in doc.fields:
        b.row(label, value)
    if doc.notes:
        b.rule()
        for note in doc.notes:
            b.text(note, max_lines=MAX_NOTE_LINES)
    qr = "".join(ch for ch in doc.qr_url.strip() if ch.isprintable())
    if qr:
        if len(qr.encode("utf-8")) <= MAX_QR_BYTES:
            b.out.append(Feed(1))
            b.out.append(QrBlock(qr))
        else:
            b.text(qr, max_lines=MAX_NOTE_LINES)
    if doc.closing.strip():
        b.out.append(Feed(1))
        b.text(doc.closing, Align.CENTER, max_lines=MAX_HEADER_LINES)
    b.out.append(Cut())
    return ReceiptLayout(columns, cs, tuple(b.out))
