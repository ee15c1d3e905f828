"""The simulated paper: applies parsed ESC/POS operations to character modes, lines, images and cut receipts."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from PIL import Image

from devices.sim.escpos_parser import Op, OpKind

ASCII_DOTS = {0: 12, 1: 9}  # font A / font B character width in dots
CJK_DOTS = 24
LINE_DOTS = 30  # default line spacing (ESC 2)
MAX_RECEIPT_DOTS = 60000  # longer receipts are cut off in the picture (the record says so)


@dataclass(frozen=True)
class Cell:
    char: str
    dots: int  # width on paper
    height: int
    bold: bool = False
    underline: bool = False
    invert: bool = False
    font_b: bool = False
    wide: bool = False  # printed from the double-byte font


@dataclass(frozen=True)
class TextRow:
    cells: tuple[Cell, ...]
    align: int  # 0 left, 1 centre, 2 right
    spacing: int

    @property
    def text(self) -> str:
        return "".join(c.char for c in self.cells)

    @property
    def dots(self) -> int:
        return sum(c.dots for c in self.cells)

    @property
    def height(self) -> int:
        return max([self.spacing] + [c.height for c in self.cells])


@dataclass(frozen=True)
class ImageRow:
    image: Image.Image  # mode "1", black = 0
    align: int
    source: str  # "raster", "column", "qr"


@dataclass(frozen=True)
class FeedRow:
    dots: int


Row = TextRow | ImageRow | FeedRow


@dataclass
class PrintedReceipt:
    """Everything printed between two cuts."""

    rows: list[Row] = field(default_factory=list)
    qr_codes: list[str] = field(default_factory=list)
    cut: str = ""  # "full", "partial" or "" when the stream ended without a cut
    wrapped_lines: int = 0  # lines the printer had to break because they were wider than the paper
    complete: bool = True  # False when the paper ran out during the job
    errors: list[str] = field(default_factory=list)
    unknown_commands: list[str] = field(default_factory=list)

    @property
    def height(self) -> int:
        total = 0
        for row in self.rows:
            total += row.height if isinstance(row, TextRow) else row.image.height if isinstance(row, ImageRow) else row.dots
        return total

    def text_lines(self) -> list[str]:
        return [row.text for row in self.rows if isinstance(row, TextRow)]


@lru_cache(maxsize=64)
def codepage_map(profile: str, number: int) -> dict[int, str] | None:
    """Bytes 0x80-0xFF of code page `number` in a python-escpos profile, from escpos-printer-db."""
    import devices.printer  # noqa: F401  (where escpos keeps its capabilities pickle)
    from escpos.capabilities import CAPABILITIES

    pages = CAPABILITIES["profiles"].get(profile, CAPABILITIES["profiles"]["default"]).get("codePages", {})
    name = pages.get(str(number))
    info = CAPABILITIES["encodings"].get(name or "", {})
    if "data" in info:
        chars = "".join(info["data"])
        return {0x80 + i: ch for i, ch in enumerate(chars[:128])}
    if "python_encode" in info:
        table = {}
        for byte in range(0x80, 0x100):
            try:
                table[byte] = bytes([byte]).decode(info["python_encode"])
            except UnicodeDecodeError:
                table[byte] = "?"
        return table
    return None


class Paper:
    """Printer state (character modes, styles) and the receipt being printed."""

    def __init__(self, paper_dots: int = 576, chinese_default: bool = True, encoding: str = "gb18030",
                 profile: str = "default") -> None:
        self.paper_dots = paper_dots
        self.chinese_default = chinese_default
        self.encoding = encoding
        self.profile = profile
        self.receipt = PrintedReceipt()
        self.accepting = True  # False while out of paper: data is dropped
        self._reset()

    def _reset(self) -> None:
        self.chinese = self.chinese_default
        self.codepage = 0
        self.align = 0
        self.bold = False
        self.underline = False
        self.invert = False
        self.font_b = False
        self.size_w = self.size_h = 1
        self.kanji_w = self.kanji_h = 1
        self.spacing = LINE_DOTS
        self.qr_data = b""
        self.qr_size = 3
        self.qr_ec = 48
        self._line: list[Cell] = []
        self._pending = b""

    # -- operations ------------------------------------------------------------------------------
    def apply(self, op: Op) -> PrintedReceipt | None:
        """Apply one operation; returns the finished receipt when the operation was a cut."""
        k = op.kind
        if k is OpKind.TEXT:
            self._text(op.data)
        elif k is OpKind.LF:
            self._flush(force=True)
        elif k is OpKind.TAB:
            self._text(b" " * 4)
        elif k is OpKind.INIT:
            self._pending = b""
            self._line = []
            self._reset()
        elif k is OpKind.PRINT_MODE:
            self.font_b = bool(op.n & 0x01)
            self.bold = bool(op.n & 0x08)
            self.size_h = 2 if op.n & 0x10 else 1
            self.size_w = 2 if op.n & 0x20 else 1
            self.underline = bool(op.n & 0x80)
        elif k is OpKind.SIZE:
            self.size_w, self.size_h = (op.n >> 4 & 0x07) + 1, (op.n & 0x07) + 1
        elif k is OpKind.KANJI_MODE:
            self.kanji_w = 2 if op.n & 0x04 else 1
            self.kanji_h = 2 if op.n & 0x08 else 1
        elif k is OpKind.BOLD:
            self.bold = bool(op.n & 1)
        elif k is OpKind.UNDERLINE:
            self.underline = op.n in (1, 2, 49, 50)
        elif k is OpKind.INVERT:
            self.invert = bool(op.n & 1)
        elif k is OpKind.ALIGN:
            self.align = {48: 0, 49: 1, 50: 2}.get(op.n, op.n if op.n in (0, 1, 2) else self.align)
        elif k is OpKind.FONT:
            self.font_b = op.n in (1, 49)
        elif k is OpKind.CODEPAGE:
            self.codepage = op.n
        elif k is OpKind.CHINESE_ON:
            self.chinese = True
        elif k is OpKind.CHINESE_OFF:
            self.chinese = False
        elif k is OpKind.LINE_SPACING:
            self.spacing = LINE_DOTS if op.n < 0 else op.n
        elif k is OpKind.FEED_LINES:
            self._flush(force=op.n > 0)
            if op.n > 1:
                self._add(FeedRow(self.spacing * (op.n - 1)))
        elif k is OpKind.FEED_DOTS:
            self._flush(force=False)
            self._add(FeedRow(op.n))
        elif k is OpKind.RASTER:
            self._flush(force=False)
            self._raster(op)
        elif k is OpKind.COLUMN_IMAGE:
            self._column_image(op)
        elif k in (OpKind.QR_SIZE, OpKind.QR_EC, OpKind.QR_STORE, OpKind.QR_PRINT):
            self._qr(op)
        elif k is OpKind.UNKNOWN:
            self.receipt.unknown_commands.append(op.data.hex())
        elif k is OpKind.SKIPPED:
            self.receipt.errors.append(f"payload of {op.n} bytes too large, skipped")
        elif k is OpKind.CUT:
            return self.cut("full" if op.n == 0 else "partial")
        return None

    def cut(self, kind: str) -> PrintedReceipt:
        self._flush(force=False)
        done, self.receipt = self.receipt, PrintedReceipt()
        done.cut = kind
        return done

    def paper_out(self) -> None:
        """The paper ran out: the rest of this job is lost until paper is loaded."""
        self.accepting = False
        self.receipt.complete = False

    # -- text --------------------------------------------------------------------------------------
    def _decode(self, data: bytes) -> list[tuple[str, bool]]:
        """Characters from bytes in the current mode; (char, wide). Incomplete pairs wait for more."""
        out: list[tuple[str, bool]] = []
        data = self._pending + data
        self._pending = b""
        i = 0
        table = None if self.chinese else codepage_map(self.profile, self.codepage)
        while i < len(data):
            b = data[i]
            if b < 0x80:
                out.append((chr(b), False))
                i += 1
                continue
            if not self.chinese:
                out.append(((table or {}).get(b, "?"), False))
                i += 1
                continue
            if not 0x81 <= b <= 0xFE:
                out.append(("?", False))
                i += 1
                continue
            size = 2
            if self.encoding == "gb18030" and i + 1 < len(data) and 0x30 <= data[i + 1] <= 0x39:
                size = 4
            if i + size > len(data):
                self._pending = bytes(data[i:])
                break
            chunk = bytes(data[i:i + size])
            try:
                out.append((chunk.decode(self.encoding), True))
                i += size
            except UnicodeDecodeError:
                out.append(("?", True))
                i += 1 if size == 2 and not 0x40 <= chunk[1] <= 0xFE else size
        return out

    def _text(self, data: bytes) -> None:
        for ch, wide in self._decode(data):
            self._put(ch, wide)

    def _put(self, ch: str, wide: bool) -> None:
        """One character into the line buffer; a full line is printed first (the printer wraps)."""
        w = max(self.size_w, self.kanji_w) if wide else self.size_w
        h = max(self.size_h, self.kanji_h) if wide else self.size_h
        dots = (CJK_DOTS if wide else ASCII_DOTS[1 if self.font_b else 0]) * w
        if dots > self.paper_dots:
            return  # a character wider than the paper is not printed at all
        if self._line and sum(c.dots for c in self._line) + dots > self.paper_dots:
            self.receipt.wrapped_lines += 1
            self._flush(force=False)
        self._line.append(Cell(ch, dots, 24 * h, self.bold, self.underline, self.invert, self.font_b, wide))

    def _flush(self, force: bool) -> None:
        """Print the line buffer; with `force` an empty buffer still feeds one line (LF)."""
        if self._pending:  # a lead byte with no second byte: the printer shows a blank box
            self._pending = b""
            self._put("?", True)
        if self._line or force:
            self._add(TextRow(tuple(self._line), self.align, self.spacing))
        self._line = []

    def _add(self, row: Row) -> None:
        if not self.accepting:
            return
        if self.receipt.height >= MAX_RECEIPT_DOTS:
            if "receipt too long" not in self.receipt.errors:
                self.receipt.errors.append("receipt too long")
            return
        self.receipt.rows.append(row)

    # -- images ------------------------------------------------------------------------------------
    def _raster(self, op: Op) -> None:
        width, height = op.w * 8, op.h
        if width == 0 or height == 0:
            return
        if width > 8 * 1024 or height > MAX_RECEIPT_DOTS:
            self.receipt.errors.append(f"raster image {width}x{height} refused")
            return
        img = Image.frombytes("1", (width, height), op.data)
        img = Image.eval(img.convert("L"), lambda v: 255 - v).convert("1")  # ESC/POS: bit set = black
        if op.n in (1, 3, 49, 51):
            img = img.resize((width * 2, img.height))
        if op.n in (2, 3, 50, 51):
            img = img.resize((img.width, height * 2))
        self._add(ImageRow(img.crop((0, 0, min(img.width, self.paper_dots), img.height)), self.align, "raster"))

    def _column_image(self, op: Op) -> None:
        per_col = 3 if op.h == 24 else 1
        cols = op.w
        if cols == 0 or cols > self.paper_dots:
            return
        img = Image.new("1", (cols, 8 * per_col), 1)
        px = img.load()
        for x in range(cols):
            for byte_index in range(per_col):
                byte = op.data[x * per_col + byte_index]
                for bit in range(8):
                    if byte & (0x80 >> bit):
                        px[x, byte_index * 8 + bit] = 0
        self._add(ImageRow(img, self.align, "column"))

    def _qr(self, op: Op) -> None:
        if op.kind is OpKind.QR_SIZE:
            self.qr_size = op.n
        elif op.kind is OpKind.QR_EC:
            self.qr_ec = op.n
        elif op.kind is OpKind.QR_STORE:
            self.qr_data = op.data
        elif op.kind is OpKind.QR_PRINT:
            self._flush(force=False)
            image = qr_image(self.qr_data, self.qr_size, self.qr_ec)
            text = self.qr_data.decode("utf-8", errors="replace")
            if image is None:
                self.receipt.errors.append(f"QR code not printable ({len(self.qr_data)} bytes)")
                return
            if self.accepting:
                self.receipt.qr_codes.append(text)
            self._add(ImageRow(image.crop((0, 0, min(image.width, self.paper_dots), image.height)), self.align, "qr"))


def qr_image(data: bytes, module: int, ec: int) -> Image.Image | None:
    """The code a printer draws for GS ( k: `module` dots per module, no quiet zone."""
    import qrcode
    from qrcode.constants import ERROR_CORRECT_H, ERROR_CORRECT_L, ERROR_CORRECT_M, ERROR_CORRECT_Q

    if not data or not 1 <= module <= 16:
        return None
    level = {48: ERROR_CORRECT_L, 49: ERROR_CORRECT_M, 50: ERROR_CORRECT_Q, 51: ERROR_CORRECT_H}.get(ec, ERROR_CORRECT_L)
    try:
        code = qrcode.QRCode(version=None, error_correction=level, box_size=module, border=0)
        code.add_data(data)
        code.make(fit=True)
    except Exception:  # qrcode raises DataOverflowError / ValueError for data no symbol can hold
        return None
    return code.make_image().get_image().convert("1")
