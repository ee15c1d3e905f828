"""MIFARE Classic value blocks as pure functions: a signed 32-bit value stored three times plus an address byte."""
from __future__ import annotations

VALUE_MIN = -(2 ** 31)
VALUE_MAX = 2 ** 31 - 1


class ValueBlockError(ValueError):
    """The 16 bytes are not a consistent value block (copies disagree or the address bytes are broken)."""


def encode_value_block(value: int, address: int) -> bytes:
    """value (LE) | ~value | value | addr | ~addr | addr | ~addr."""
    if not VALUE_MIN <= value <= VALUE_MAX:
        raise ValueError(f"value {value} does not fit a MIFARE value block")
    if not 0 <= address <= 0xFF:
        raise ValueError("address must be one byte")
    v = value.to_bytes(4, "little", signed=True)
    inv = bytes(b ^ 0xFF for b in v)
    return v + inv + v + bytes([address, address ^ 0xFF, address, address ^ 0xFF])


def decode_value_block(data: bytes) -> tuple[int, int]:
    """(value, address) of a value block; ValueBlockError unless all three copies and the address agree."""
    if len(data) != 16:
        raise ValueBlockError(f"a value block is 16 bytes, got {len(data)}")
    v, nv, v2 = data[0:4], data[4:8], data[8:12]
    if v != v2 or bytes(b ^ 0xFF for b in v) != nv:
        raise ValueBlockError("value copies disagree")
    a = data[12:16]
    if a[0] != a[2] or a[1] != a[3] or a[0] ^ 0xFF != a[1]:
        raise ValueBlockError("address bytes disagree")
    return int.from_bytes(v, "little", signed=True), a[0]
