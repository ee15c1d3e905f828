"""Printable text: charset repertoire, visible replacement, display width in cells, wrap and truncate."""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

REPLACEMENT = "?"


@dataclass(frozen=True)
class Charset:
    """How the printer turns characters into bytes.

    `double_byte` charsets (GB18030, Big5) are printed in the printer's Chinese mode (FS &): ASCII
    takes one cell, every other character comes from the 24-dot font and takes two cells.
    Single-byte code pages (cp437 ...) are selected with ESC t and take one cell per character.
    """

    name: str
    codec: str
    double_byte: bool
    codepage: int = 0  # ESC t n for single-byte charsets

    def encode(self, text: str) -> bytes:
        """Bytes for text already passed through `printable()` (never raises for such text)."""
        return text.encode(self.codec, errors="replace")


CHARSETS: dict[str, Charset] = {
    "gb18030": Charset("gb18030", "gb18030", True),
    "big5": Charset("big5", "big5", True),
    "cp437": Charset("cp437", "cp437", False, 0),
    "cp850": Charset("cp850", "cp850", False, 2),
    "cp1252": Charset("cp1252", "cp1252", False, 16),
    "cp866": Charset("cp866", "cp866", False, 17),
    "cp858": Charset("cp858", "cp858", False, 19),
}


def charset(name: str) -> Charset:
    try:
        return CHARSETS[name.lower().replace("-", "")]
    except KeyError:
        raise ValueError(f"unknown printer charset {name!r}; expected one of {sorted(CHARSETS)}") from None


@lru_cache(maxsize=65536)
def _printable_char(ch: str, charset_name: str) -> str:
    """One character as the printer will print it: itself, '' (dropped) or a visible replacement."""
    cs = CHARSETS[charset_name]
    category = unicodedata.category(ch)
    if category == "Cc" or category in ("Zl", "Zp"):
        return " "  # tabs, newlines, other controls: never reach the printer as commands
    if category in ("Cf", "Mn", "Me"):
        return ""  # zero-width joiners, variation selectors, combining marks: invisible anyway
    if ch == " " or (" " < ch <= "~"):
        return ch
    try:
        encoded = ch.encode(cs.codec)
    except UnicodeEncodeError:
        return REPLACEMENT
    if cs.double_byte and len(encoded) != 2:
        return REPLACEMENT  # GB18030 four-byte forms (emoji, rare CJK) have no glyph in printer fonts
    if not cs.double_byte and (len(encoded) != 1 or encoded[0] < 0x80):
        return REPLACEMENT
    return ch


def printable(text: str, cs: Charset) -> str:
    """Text restricted to what the printer can print; anything else becomes a visible '?'."""
    normalized = unicodedata.normalize("NFC", text)
    return "".join(_printable_char(ch, cs.name) for ch in normalized)


def cell_width(ch: str, cs: Charset) -> int:
    """Cells a printable character takes: 2 for wide (east_asian_width W/F) and, in Chinese mode,
    for every non-ASCII character (the printer draws them all from its double-width font)."""
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 2
    if cs.double_byte and ord(ch) > 0x7E:
        return 2
    return 1


def text_width(text: str, cs: Charset) -> int:
    """Width in cells of text already passed through `printable()`."""
    return sum(cell_width(ch, cs) for ch in text)


NO_LINE_START = frozenset("，。、；：？！）》」』】〕…,.;:?!)")


def _is_breakable_anywhere(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _tokens(text: str) -> list[str]:
    """Words, single spaces and single wide characters: the units a line may break between."""
    tokens: list[str] = []
    word = ""
    for ch in text:
        if ch == " " or _is_breakable_anywhere(ch):
            if word:
                tokens.append(word)
                word = ""
            tokens.append(ch)
        else:
            word += ch
    if word:
        tokens.append(word)
    return tokens


def _hard_split(token: str, width: int, cs: Charset) -> list[str]:
    pieces: list[str] = []
    current, used = "", 0
    for ch in token:
        w = cell_width(ch, cs)
        if used + w > width and current:
            pieces.append(current)
            current, used = "", 0
        current += ch
        used += w
    if current:
        pieces.append(current)
    return pieces


def wrap(text: str, width: int, cs: Charset) -> list[str]:
    """Printable text broken into lines of at most `width` cells (words kept whole when they fit)."""
    if width < 2:
        raise ValueError("wrap width must be at least 2 cells")
    text = printable(text, cs)
    lines: list[str] = []
    current, used = "", 0
    for token in _tokens(text):
        w = text_width(token, cs)
        if token == " ":
            if current and used + 1 <= width:
                current += " "
                used += 1
            continue
        if used + w > width:
            carry = ""
            if width >= 6 and token in NO_LINE_START and len(current.rstrip()) > 1 and _is_breakable_anywhere(current.rstrip()[-1]):
                carry = current.rstrip()[-1]  # closing punctuation never starts a line: take a character with it
                current = current.rstrip()[:-1]
            if current.strip():
                lines.append(current.rstrip())
            current, used = carry, text_width(carry, cs)
            if w > width:
                *full, token = _hard_split(token, width, cs)
                lines.extend(full)
                w = text_width(token, cs)
        current += token
        used += w
    if current.strip():
        lines.append(current.rstrip())
    return lines or [""]


def ellipsis(cs: Charset) -> str:
    return "\u2026" if cs.double_byte else "..."


def truncate(text: str, width: int, cs: Charset) -> str:
    """Printable text cut to at most `width` cells, with an ellipsis when something was cut."""
    text = printable(text, cs)
    if text_width(text, cs) <= width:
        return text
    mark = ellipsis(cs)
    room = width - text_width(mark, cs)
    if room < 1:
        return take(text, width, cs)
    return take(text, room, cs) + mark


def take(text: str, width: int, cs: Charset) -> str:
    """The longest prefix of printable text that fits in `width` cells."""
    used = 0
    for index, ch in enumerate(text):
        used += cell_width(ch, cs)
        if used > width:
            return text[:index]
    return text


def pad_between(left: str, right: str, width: int, cs: Charset) -> str | None:
    """`left` and `right` on one line of `width` cells, or None when they do not fit together."""
    gap = width - text_width(left, cs) - text_width(right, cs)
    if gap < 1:
        return None
    return left + " " * gap + right
