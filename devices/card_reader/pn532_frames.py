"""PN532 host-interface frames as pure functions: build and parse normal/extended frames, ACK, NACK, error frames.

Wire format (PN532 user manual, 6.2):

    normal    00 00 FF LEN LCS TFI DATA... DCS 00         LEN = len(TFI+DATA) <= 255
    extended  00 00 FF FF FF LENM LENL LCS TFI DATA... DCS 00
    ACK       00 00 FF 00 FF 00
    NACK      00 00 FF FF 00 00
    error     00 00 FF 01 FF 7F 81 00                      (application-level syntax error)

LEN + LCS == 0 (mod 256), TFI + sum(DATA) + DCS == 0 (mod 256). TFI is D4 host->chip and D5 chip->host.
Nothing here touches a port: `decode_frame` looks at a buffer and says what it holds, so the same code
serves the driver, the simulator and the fuzz tests.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

HOST_TO_CHIP = 0xD4
CHIP_TO_HOST = 0xD5
ERROR_TFI = 0x7F

PREAMBLE = b"\x00"
START_CODE = b"\x00\xff"
POSTAMBLE = b"\x00"
ACK = b"\x00\x00\xff\x00\xff\x00"
NACK = b"\x00\x00\xff\xff\x00\x00"
ERROR_FRAME = b"\x00\x00\xff\x01\xff\x7f\x81\x00"
# HSU wake-up: a run of 0x55 bytes and zeros lets the chip leave power-down/LowVBat before the first frame.
WAKEUP_PREAMBLE = b"\x55\x55" + b"\x00" * 14

MAX_NORMAL_LEN = 0xFF  # LEN byte; 0xFF is reserved by the extended-frame marker, so usable is 254 (TFI+253)
MAX_EXTENDED_LEN = 0xFFFF


class FrameKind(StrEnum):
    ACK = "ack"
    NACK = "nack"
    DATA = "data"
    ERROR = "error"


@dataclass(frozen=True)
class Frame:
    """One decoded frame. `tfi` and `data` are only meaningful for DATA frames."""

    kind: FrameKind
    tfi: int = 0
    data: bytes = b""

    @property
    def command(self) -> int:
        """The command/response code: the first data byte of a DATA frame."""
        return self.data[0] if self.data else -1

    @property
    def payload(self) -> bytes:
        """Data after the command code."""
        return self.data[1:]


class FrameError(ValueError):
    """The bytes at the start of the buffer are not a valid frame. `skip` bytes can be dropped to resync."""

    def __init__(self, reason: str, skip: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.skip = max(1, skip)


def checksum(data: bytes) -> int:
    """The byte that makes `sum(data) + checksum` a multiple of 256."""
    return (-sum(data)) & 0xFF


def build_frame(tfi: int, data: bytes) -> bytes:
    """A normal frame when TFI+DATA fits in 254 bytes, otherwise an extended frame."""
    body = bytes([tfi]) + bytes(data)
    n = len(body)
    if n < 0xFF:
        return b"\x00\x00\xff" + bytes([n, checksum(bytes([n]))]) + body + bytes([checksum(body)]) + POSTAMBLE
    if n > MAX_EXTENDED_LEN:
        raise ValueError(f"frame body too long: {n} bytes")
    lenm, lenl = n >> 8, n & 0xFF
    return (b"\x00\x00\xff\xff\xff" + bytes([lenm, lenl, checksum(bytes([lenm, lenl]))]) + body
            + bytes([checksum(body)]) + POSTAMBLE)


def build_command(command: int, params: bytes = b"") -> bytes:
    """A host->chip information frame carrying `command` and its parameters."""
    return build_frame(HOST_TO_CHIP, bytes([command]) + bytes(params))


def build_response(command: int, params: bytes = b"") -> bytes:
    """A chip->host information frame answering `command` (its code is command + 1)."""
    return build_frame(CHIP_TO_HOST, bytes([(command + 1) & 0xFF]) + bytes(params))


def encode(frame: Frame) -> bytes:
    """The canonical bytes of a decoded frame (used to prove a decode consumed exactly a valid frame)."""
    if frame.kind is FrameKind.ACK:
        return ACK
    if frame.kind is FrameKind.NACK:
        return NACK
    if frame.kind is FrameKind.ERROR:
        return ERROR_FRAME
    return build_frame(frame.tfi, frame.data)


def decode_frame(buf: bytes) -> tuple[Frame | None, int]:
    """Look for one frame at the front of `buf`.

    Returns (frame, consumed) when a complete valid frame is found, (None, skip) when more bytes are
    needed (skip = bytes of leading noise that can already be dropped). Raises FrameError when the
    bytes after a start code cannot be a valid frame (bad LCS/DCS/postamble); `exc.skip` is how many
    bytes from the front of `buf` to drop to resync. Leading 0x00/0x55 noise (preambles, wake-up runs) is skipped.
    """
    start = buf.find(START_CODE)
    if start < 0:
        # Keep a trailing 0x00 that may be the first half of a start code.
        keep = 1 if buf.endswith(b"\x00") else 0
        return None, len(buf) - keep
    head = start + 2
    rest = len(buf) - head
    if rest < 2:
        return None, start
    b0, b1 = buf[head], buf[head + 1]
    if b0 == 0x00 and b1 == 0xFF:
        end = head + 2
        if len(buf) <= end:
            return None, start
        if buf[end] != 0x00:
            raise FrameError("ACK without postamble", end)
        return Frame(FrameKind.ACK), end + 1
    if b0 == 0xFF and b1 == 0x00:
        end = head + 2
        if len(buf) <= end:
            return None, start
        if buf[end] != 0x00:
            raise FrameError("NACK without postamble", end)
        return Frame(FrameKind.NACK), end + 1
    if b0 == 0xFF and b1 == 0xFF:
        if rest < 5:
            return None, start
        lenm, lenl, lcs = buf[head + 2], buf[head + 3], buf[head + 4]
        if (lenm + lenl + lcs) & 0xFF:
            raise FrameError("extended frame with bad LCS", head)
        length = (lenm << 8) | lenl
        body_at = head + 5
    else:
        if (b0 + b1) & 0xFF:
            raise FrameError("frame with bad LCS", head)
        length = b0
        body_at = head + 2
    if length == 0:
        raise FrameError("information frame with LEN 0", body_at)
    need = body_at + length + 2  # body, DCS, postamble
    if len(buf) < need:
        return None, start
    body = bytes(buf[body_at:body_at + length])
    dcs = buf[body_at + length]
    if (sum(body) + dcs) & 0xFF:
        raise FrameError("frame with bad DCS", need)  # LEN passed its LCS: drop the whole frame
    if buf[body_at + length + 1] != 0x00:
        raise FrameError("frame without postamble", head)
    tfi = body[0]
    if tfi == ERROR_TFI and length == 1:
        return Frame(FrameKind.ERROR, tfi=tfi), need
    if tfi not in (HOST_TO_CHIP, CHIP_TO_HOST):
        raise FrameError(f"frame with unknown TFI 0x{tfi:02X}", need)
    if length == 1:
        raise FrameError("information frame without a command code", need)
    return Frame(FrameKind.DATA, tfi=tfi, data=body[1:]), need


class FrameStream:
    """Accumulates bytes from a port and yields whole frames; corrupt frames are counted, never returned."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.rejected = 0
        self.last_error = ""

    def feed(self, data: bytes) -> None:
        self._buf += data

    def clear(self) -> None:
        self._buf.clear()

    @property
    def buffered(self) -> int:
        """Bytes held that are not yet part of a returned frame."""
        return len(self._buf)

    def next_frame(self) -> Frame | None:
        """The next complete valid frame, or None when more bytes are needed.

        A corrupt frame is dropped (and counted in `rejected`) so that the caller can ask for a resend.
        """
        while self._buf:
            try:
                frame, n = decode_frame(bytes(self._buf))
            except FrameError as exc:
                self.rejected += 1
                self.last_error = exc.reason
                del self._buf[:exc.skip]
                continue
            if frame is None:
                del self._buf[:n]
                return None
            del self._buf[:n]
            return frame
        return None

    def take_rejected(self) -> int:
        """How many corrupt frames were dropped since the last call."""
        n, self.rejected = self.rejected, 0
        return n
