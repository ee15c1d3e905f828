"""Incremental ESC/POS stream parser: bytes in, printer operations out; never raises on bad input."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

MAX_PAYLOAD = 4 * 1024 * 1024  # larger declared payloads are consumed without being kept


class OpKind(StrEnum):
    TEXT = "text"  # data: printable bytes, decoded by the paper with its current character mode
    LF = "lf"
    CR = "cr"
    TAB = "tab"
    INIT = "init"
    PRINT_MODE = "print_mode"  # ESC ! n
    BOLD = "bold"
    UNDERLINE = "underline"
    ALIGN = "align"
    FONT = "font"
    CODEPAGE = "codepage"
    SIZE = "size"  # GS ! n
    KANJI_MODE = "kanji_mode"  # FS ! n
    CHINESE_ON = "chinese_on"  # FS &
    CHINESE_OFF = "chinese_off"  # FS .
    FEED_LINES = "feed_lines"  # ESC d n
    FEED_DOTS = "feed_dots"  # ESC J n
    LINE_SPACING = "line_spacing"  # n dots, -1 = default
    INVERT = "invert"
    RASTER = "raster"  # GS v 0: w = width in bytes, h = rows, data
    COLUMN_IMAGE = "column_image"  # ESC *: n = mode, w = columns, data
    GRAPHICS = "graphics"  # GS ( L / GS 8 L: kept as a record only
    QR_MODEL = "qr_model"
    QR_SIZE = "qr_size"
    QR_EC = "qr_ec"
    QR_STORE = "qr_store"
    QR_PRINT = "qr_print"
    BARCODE = "barcode"
    CUT = "cut"  # n = 0 full, 1 partial
    STATUS = "status"  # DLE EOT n: the device answers
    PRINTER_ID = "printer_id"  # GS I n: the device answers
    IGNORED = "ignored"  # a known command with no effect on the simulated paper
    UNKNOWN = "unknown"  # a command the parser does not know; data: its first bytes
    SKIPPED = "skipped"  # a payload too large to keep (n = its length)


@dataclass(frozen=True)
class Op:
    kind: OpKind
    n: int = 0
    data: bytes = b""
    w: int = 0
    h: int = 0


class _NeedMore(Exception):
    """The buffer ends inside a command: wait for more bytes."""


# ESC commands with a fixed number of parameter bytes after the command letter.
_ESC_FIXED: dict[int, int] = {
    **{ord(c): 1 for c in "!E-aMtdJ3{VGR %=rA+eU?T"},
    **{ord(c): 0 for c in "@2imL<S"},
    ord("p"): 3, ord("B"): 2, ord("c"): 2, ord("$"): 2, ord("\\"): 2, ord("W"): 8,
}
_GS_FIXED: dict[int, int] = {
    **{ord(c): 1 for c in "!BbHhwfIT|aEr"},
    ord(":"): 0, ord("^"): 3, ord("g"): 4, ord("L"): 2, ord("W"): 2, ord("$"): 2, ord("\\"): 2, ord("P"): 2,
}
_FS_FIXED: dict[int, int] = {
    **{ord(c): 1 for c in "!-CWp"}, ord("&"): 0, ord("."): 0, ord("S"): 2, ord("p"): 2,
}


class EscposParser:
    """Feed bytes as they arrive; get back the operations they complete.

    Commands cut in half by a chunk boundary wait for the next chunk. `finish()` reports how many
    bytes were left over when the stream ended (a truncated command is dropped, as a printer would).
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._skip = 0
        self.bytes_seen = 0

    def feed(self, data: bytes) -> list[Op]:
        self.bytes_seen += len(data)
        ops: list[Op] = []
        if self._skip:
            used = min(self._skip, len(data))
            self._skip -= used
            data = data[used:]
        self._buf += data
        pos = 0
        buf = self._buf
        while pos < len(buf) and not self._skip:
            try:
                pos = self._one(buf, pos, ops)
            except _NeedMore:
                break
        if self._skip:  # a huge payload started: drop what is here and count the rest down
            dropped = len(buf) - pos
            self._skip = max(0, self._skip - dropped)
            pos = len(buf)
        del buf[:pos]
        return ops

    def finish(self) -> int:
        """End of stream: the number of bytes of an incomplete command that were discarded."""
        left = len(self._buf) + self._skip
        self._buf.clear()
        self._skip = 0
        return left

    # -- one command ---------------------------------------------------------------------------
    @staticmethod
    def _need(buf: bytearray, end: int) -> None:
        if end > len(buf):
            raise _NeedMore

    def _payload(self, buf: bytearray, start: int, length: int, ops: list[Op], make) -> int:
        """A command whose payload is `length` bytes from `start`: keep it, or skip it when huge."""
        if length > MAX_PAYLOAD:
            ops.append(Op(OpKind.SKIPPED, length))
            have = len(buf) - start
            if have >= length:
                return start + length
            self._skip = length - have
            return len(buf)
        self._need(buf, start + length)
        ops.append(make(bytes(buf[start:start + length])))
        return start + length

    def _one(self, buf: bytearray, pos: int, ops: list[Op]) -> int:
        b = buf[pos]
        if b >= 0x20 and b != 0x7F:
            end = pos
            while end < len(buf) and buf[end] >= 0x20 and buf[end] != 0x7F:
                end += 1
            ops.append(Op(OpKind.TEXT, data=bytes(buf[pos:end])))
            return end
        if b == 0x0A:
            ops.append(Op(OpKind.LF))
            return pos + 1
        if b == 0x0D:
            ops.append(Op(OpKind.CR))
            return pos + 1
        if b == 0x09:
            ops.append(Op(OpKind.TAB))
            return pos + 1
        if b == 0x0C:
            ops.append(Op(OpKind.FEED_LINES, 1))
            return pos + 1
        if b == 0x10:
            return self._dle(buf, pos, ops)
        if b == 0x1B:
            return self._esc(buf, pos, ops)
        if b == 0x1C:
            return self._fs(buf, pos, ops)
        if b == 0x1D:
            return self._gs(buf, pos, ops)
        ops.append(Op(OpKind.IGNORED, b))
        return pos + 1

    def _dle(self, buf: bytearray, pos: int, ops: list[Op]) -> int:
        self._need(buf, pos + 2)
        cmd = buf[pos + 1]
        if cmd == 0x04:
            self._need(buf, pos + 3)
            ops.append(Op(OpKind.STATUS, buf[pos + 2]))
            return pos + 3
        if cmd == 0x05:
            self._need(buf, pos + 3)
            ops.append(Op(OpKind.IGNORED, 0x05))
            return pos + 3
        if cmd == 0x14:
            self._need(buf, pos + 5)
            ops.append(Op(OpKind.IGNORED, 0x14))
            return pos + 5
        ops.append(Op(OpKind.IGNORED, 0x10))
        return pos + 1

    def _esc(self, buf: bytearray, pos: int, ops: list[Op]) -> int:
        self._need(buf, pos + 2)
        cmd = buf[pos + 1]
        if cmd == ord("*"):
            self._need(buf, pos + 5)
            mode, cols = buf[pos + 2], buf[pos + 3] | buf[pos + 4] << 8
            per_col = 3 if mode in (32, 33) else 1
            return self._payload(buf, pos + 5, cols * per_col, ops,
                                 lambda d: Op(OpKind.COLUMN_IMAGE, mode, d, cols, 24 if per_col == 3 else 8))
        if cmd == ord("D"):  # tab positions, NUL-terminated (at most 32)
            end = buf.find(b"\x00", pos + 2, pos + 35)
            if end < 0:
                self._need(buf, pos + 35)
                end = pos + 34
            ops.append(Op(OpKind.IGNORED, cmd))
            return end + 1
        if cmd == ord("&"):  # user-defined characters: y c1 c2 then per char x and y*x bytes
            self._need(buf, pos + 5)
            y, c1, c2 = buf[pos + 2], buf[pos + 3], buf[pos + 4]
            at = pos + 5
            for _ in range(max(0, c2 - c1 + 1)):
                self._need(buf, at + 1)
                at += 1 + y * buf[at]
            self._need(buf, at)
            ops.append(Op(OpKind.IGNORED, cmd))
            return at
        if cmd in _ESC_FIXED:
            count = _ESC_FIXED[cmd]
            self._need(buf, pos + 2 + count)
            n = buf[pos + 2] if count else 0
            kind = {ord("@"): OpKind.INIT, ord("!"): OpKind.PRINT_MODE, ord("E"): OpKind.BOLD,
                    ord("G"): OpKind.BOLD, ord("-"): OpKind.UNDERLINE, ord("a"): OpKind.ALIGN,
                    ord("M"): OpKind.FONT, ord("t"): OpKind.CODEPAGE, ord("d"): OpKind.FEED_LINES,
                    ord("J"): OpKind.FEED_DOTS, ord("3"): OpKind.LINE_SPACING,
                    ord("i"): OpKind.CUT, ord("m"): OpKind.CUT}.get(cmd, OpKind.IGNORED)
            if cmd == ord("2"):
                kind, n = OpKind.LINE_SPACING, -1
            elif cmd == ord("m"):
                n = 1
            elif kind is OpKind.IGNORED:
                n = cmd
            ops.append(Op(kind, n))
            return pos + 2 + count
        ops.append(Op(OpKind.UNKNOWN, data=bytes(buf[pos:pos + 2])))
        return pos + 2

    def _fs(self, buf: bytearray, pos: int, ops: list[Op]) -> int:
        self._need(buf, pos + 2)
        cmd = buf[pos + 1]
        if cmd == ord("2"):  # user-defined kanji: c1 c2 and 72 bytes
            return self._payload(buf, pos + 4, 72, ops, lambda d: Op(OpKind.IGNORED, cmd))
        if cmd == ord("q"):  # define NV bit images: n, then per image xL xH yL yH and x*y*8 bytes
            self._need(buf, pos + 3)
            at = pos + 3
            for _ in range(buf[pos + 2]):
                self._need(buf, at + 4)
                x, y = buf[at] | buf[at + 1] << 8, buf[at + 2] | buf[at + 3] << 8
                at += 4 + x * y * 8
                if at - pos > MAX_PAYLOAD:
                    return self._payload(buf, pos + 3, at - pos - 3, ops, lambda d: Op(OpKind.IGNORED, cmd))
            self._need(buf, at)
            ops.append(Op(OpKind.IGNORED, cmd))
            return at
        if cmd in _FS_FIXED:
            count = _FS_FIXED[cmd]
            self._need(buf, pos + 2 + count)
            n = buf[pos + 2] if count else 0
            kind = {ord("&"): OpKind.CHINESE_ON, ord("."): OpKind.CHINESE_OFF,
                    ord("!"): OpKind.KANJI_MODE}.get(cmd, OpKind.IGNORED)
            ops.append(Op(kind, n if kind is not OpKind.IGNORED else cmd))
            return pos + 2 + count
        ops.append(Op(OpKind.UNKNOWN, data=bytes(buf[pos:pos + 2])))
        return pos + 2

    def _gs(self, buf: bytearray, pos: int, ops: list[Op]) -> int:
        self._need(buf, pos + 2)
        cmd = buf[pos + 1]
        if cmd == ord("v"):
            self._need(buf, pos + 8)
            mode = buf[pos + 3]
            w, h = buf[pos + 4] | buf[pos + 5] << 8, buf[pos + 6] | buf[pos + 7] << 8
            return self._payload(buf, pos + 8, w * h, ops, lambda d: Op(OpKind.RASTER, mode, d, w, h))
        if cmd == ord("("):
            self._need(buf, pos + 5)
            fn_class = buf[pos + 2]
            length = buf[pos + 3] | buf[pos + 4] << 8
            return self._payload(buf, pos + 5, length, ops, lambda d: self._gs_paren(fn_class, d))
        if cmd == ord("8"):
            self._need(buf, pos + 7)
            length = int.from_bytes(buf[pos + 3:pos + 7], "little")
            return self._payload(buf, pos + 7, length, ops, lambda d: Op(OpKind.GRAPHICS, data=d[:2]))
        if cmd == ord("V"):
            self._need(buf, pos + 3)
            m = buf[pos + 2]
            if m in (65, 66, 97, 98, 103, 104):
                self._need(buf, pos + 4)
                ops.append(Op(OpKind.CUT, 0 if m in (65, 97, 103) else 1))
                return pos + 4
            ops.append(Op(OpKind.CUT, m & 1))
            return pos + 3
        if cmd == ord("k"):
            self._need(buf, pos + 3)
            m = buf[pos + 2]
            if m <= 6:
                end = buf.find(b"\x00", pos + 3, pos + 3 + 256)
                if end < 0:
                    self._need(buf, pos + 3 + 256)
                    end = pos + 3 + 255
                ops.append(Op(OpKind.BARCODE, m, bytes(buf[pos + 3:end])))
                return end + 1
            self._need(buf, pos + 4)
            return self._payload(buf, pos + 4, buf[pos + 3], ops, lambda d: Op(OpKind.BARCODE, m, d))
        if cmd == ord("*"):
            self._need(buf, pos + 4)
            return self._payload(buf, pos + 4, buf[pos + 2] * buf[pos + 3] * 8, ops,
                                 lambda d: Op(OpKind.IGNORED, cmd))
        if cmd in _GS_FIXED:
            count = _GS_FIXED[cmd]
            self._need(buf, pos + 2 + count)
            n = buf[pos + 2] if count else 0
            kind = {ord("!"): OpKind.SIZE, ord("B"): OpKind.INVERT, ord("I"): OpKind.PRINTER_ID}.get(cmd, OpKind.IGNORED)
            ops.append(Op(kind, n if kind is not OpKind.IGNORED else cmd))
            return pos + 2 + count
        ops.append(Op(OpKind.UNKNOWN, data=bytes(buf[pos:pos + 2])))
        return pos + 2

    @staticmethod
    def _gs_paren(fn_class: int, data: bytes) -> Op:
        if fn_class == ord("k") and len(data) >= 2 and data[0] == 0x31:  # cn 49: QR code
            fn, params = data[1], data[2:]
            if fn == 65 and params:
                return Op(OpKind.QR_MODEL, params[0])
            if fn == 67 and params:
                return Op(OpKind.QR_SIZE, params[0])
            if fn == 69 and params:
                return Op(OpKind.QR_EC, params[0])
            if fn == 80 and params:
                return Op(OpKind.QR_STORE, data=params[1:])
            if fn == 81:
                return Op(OpKind.QR_PRINT)
        if fn_class == ord("L"):
            return Op(OpKind.GRAPHICS, data=data[:2])
        return Op(OpKind.IGNORED, fn_class, data[:2])
