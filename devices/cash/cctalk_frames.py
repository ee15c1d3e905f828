"""ccTalk framing as pure functions: build and parse frames with the simple checksum or CRC-16.

A frame on the wire is ``dest, length, source, header, data..., checksum`` where ``length``
counts the data bytes only. With the simple checksum the sum of every byte of the frame is
0 mod 256. With the CRC-16 variant (CCITT polynomial 0x1021, initial value 0) the source byte
carries the CRC's low byte and the last byte its high byte; the CRC covers dest, length,
header and data. Parsing never raises anything but `FrameError`.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

HOST_ADDRESS = 1
DEFAULT_VALIDATOR_ADDRESS = 40
MAX_DATA = 250  # a whole frame is at most 255 bytes
FRAME_OVERHEAD = 5  # dest, length, source, header, checksum

# Headers the bill validator driver uses.
ACK = 0
NAK = 5
BUSY = 6
RESET_DEVICE = 1
ROUTE_BILL = 154
MODIFY_BILL_OPERATING_MODE = 153
REQUEST_COUNTRY_SCALING = 156
REQUEST_BILL_ID = 157
READ_BUFFERED_BILL_EVENTS = 159
REQUEST_MASTER_INHIBIT = 227
MODIFY_MASTER_INHIBIT = 228
REQUEST_INHIBIT_STATUS = 230
MODIFY_INHIBIT_STATUS = 231
REQUEST_SERIAL_NUMBER = 242
REQUEST_PRODUCT_CODE = 244
REQUEST_EQUIPMENT_CATEGORY = 245
REQUEST_MANUFACTURER_ID = 246
SIMPLE_POLL = 254


class ChecksumKind(StrEnum):
    SIMPLE = "simple"
    CRC16 = "crc16"


class FrameError(ValueError):
    """Bytes that are not a valid ccTalk frame (short, wrong length or checksum)."""


@dataclass(frozen=True)
class Frame:
    dest: int
    source: int
    header: int
    data: bytes = b""

    def __post_init__(self) -> None:
        for name in ("dest", "source", "header"):
            value = getattr(self, name)
            if not 0 <= value <= 255:
                raise ValueError(f"{name} must be a byte, got {value}")
        if len(self.data) > MAX_DATA:
            raise ValueError(f"ccTalk data is at most {MAX_DATA} bytes, got {len(self.data)}")

    @property
    def is_ack(self) -> bool:
        return self.header == ACK and not self.data


def simple_checksum(body: bytes) -> int:
    """The byte that makes the sum of `body` plus itself 0 mod 256."""
    return (-sum(body)) & 0xFF


def crc16_ccitt(data: bytes, crc: int = 0) -> int:
    """CRC-16/XMODEM (poly 0x1021, init 0, no reflection), the ccTalk CRC."""
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def build_frame(frame: Frame, checksum: ChecksumKind = ChecksumKind.SIMPLE) -> bytes:
    """The bytes of `frame` on the wire."""
    length = len(frame.data)
    if checksum is ChecksumKind.CRC16:
        crc = crc16_ccitt(bytes((frame.dest, length, frame.header)) + frame.data)
        return bytes((frame.dest, length, crc & 0xFF, frame.header)) + frame.data + bytes((crc >> 8,))
    body = bytes((frame.dest, length, frame.source, frame.header)) + frame.data
    return body + bytes((simple_checksum(body),))


def command(dest: int, header: int, data: bytes = b"", source: int = HOST_ADDRESS,
            checksum: ChecksumKind = ChecksumKind.SIMPLE) -> bytes:
    """Shorthand for the host's request bytes."""
    return build_frame(Frame(dest, source, header, bytes(data)), checksum)


def frame_length(prefix: bytes) -> int | None:
    """Total length of the frame starting at `prefix`, or None while fewer than two bytes are known."""
    if len(prefix) < 2:
        return None
    return prefix[1] + FRAME_OVERHEAD


def parse_frame(raw: bytes, checksum: ChecksumKind = ChecksumKind.SIMPLE,
                source_when_crc: int = 0) -> Frame:
    """Parse exactly one frame. With CRC-16 the source is not on the wire: pass the expected one."""
    raw = bytes(raw)
    if len(raw) < FRAME_OVERHEAD:
        raise FrameError(f"frame too short: {len(raw)} bytes")
    expected = raw[1] + FRAME_OVERHEAD
    if expected > 255:
        raise FrameError(f"length byte {raw[1]} makes a frame longer than 255 bytes")
    if len(raw) != expected:
        raise FrameError(f"length byte says {expected} bytes, got {len(raw)}")
    dest, length, third, header = raw[0], raw[1], raw[2], raw[3]
    data = raw[4:4 + length]
    if checksum is ChecksumKind.CRC16:
        crc = crc16_ccitt(bytes((dest, length, header)) + data)
        got = third | (raw[-1] << 8)
        if crc != got:
            raise FrameError(f"bad CRC: expected {crc:04X}, got {got:04X}")
        source = source_when_crc
    else:
        if sum(raw) & 0xFF:
            raise FrameError(f"bad checksum: byte sum is {sum(raw) & 0xFF:#04x}, not 0")
        source = third
    return Frame(dest, source, header, data)


def split_frame(buffer: bytes, checksum: ChecksumKind = ChecksumKind.SIMPLE,
                source_when_crc: int = 0) -> tuple[Frame | None, int]:
    """Take one frame from the front of a byte stream.

    Returns ``(frame, consumed)``; ``(None, 0)`` means "need more bytes". A corrupt frame raises
    `FrameError`; the caller then drops one byte and tries again (ccTalk has no sync byte).
    """
    total = frame_length(buffer)
    if total is not None and total > 255:
        raise FrameError(f"length byte {buffer[1]} makes a frame longer than 255 bytes")
    if total is None or len(buffer) < total:
        return None, 0
    return parse_frame(buffer[:total], checksum, source_when_crc), total


def ascii_field(data: bytes) -> str:
    """An ASCII reply (category, manufacturer, product code) as text, trailing blanks removed."""
    return data.decode("ascii", errors="replace").rstrip(" \x00")
