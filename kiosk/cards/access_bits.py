"""MIFARE Classic access bits (sector trailer bytes 6-8) as pure functions, and the conditions the kiosk uses.

Each block of a sector has a condition (C1, C2, C3). The trailer stores every bit twice, once inverted:

    byte 6 = ~C2[3..0] << 4 | ~C1[3..0]
    byte 7 =  C1[3..0] << 4 | ~C3[3..0]
    byte 8 =  C3[3..0] << 4 |  C2[3..0]

(bit i of each nibble belongs to block i of the sector). Factory cards hold FF 07 80.
"""
from __future__ import annotations

from collections.abc import Sequence

Condition = tuple[int, int, int]

# Data block conditions (MIFARE Classic EV1 datasheet, table 8)
DATA_TRANSPORT: Condition = (0, 0, 0)      # read/write/inc/dec with A or B
DATA_READ_AB_WRITE_B: Condition = (1, 0, 0)  # read A|B, write B, no value operations
VALUE_DEC_AB_INC_B: Condition = (1, 1, 0)  # read A|B, write B, increment B, decrement/transfer/restore A|B
# Trailer conditions (table 7)
TRAILER_TRANSPORT: Condition = (0, 0, 1)  # key A writes everything, key B readable (so not a key)
TRAILER_KEYS_B: Condition = (0, 1, 1)     # key B writes keys and access bits; nobody reads key B

FACTORY_ACCESS = bytes.fromhex("FF0780")
GENERAL_PURPOSE_BYTE = 0x69


class AccessBitsError(ValueError):
    """Access bytes whose inverted copies disagree: a card would block the whole sector."""


def encode_access_bits(conditions: Sequence[Condition]) -> bytes:
    """Bytes 6-8 of a trailer for the conditions of blocks 0, 1, 2 and the trailer (3)."""
    if len(conditions) != 4 or any(len(c) != 3 or any(b not in (0, 1) for b in c) for c in conditions):
        raise ValueError("need four (C1, C2, C3) tuples of bits")
    c1 = sum(c[0] << i for i, c in enumerate(conditions))
    c2 = sum(c[1] << i for i, c in enumerate(conditions))
    c3 = sum(c[2] << i for i, c in enumerate(conditions))
    return bytes([((~c2 & 0xF) << 4) | (~c1 & 0xF), (c1 << 4) | (~c3 & 0xF), (c3 << 4) | c2])


def decode_access_bits(access: bytes) -> list[Condition]:
    if len(access) < 3:
        raise AccessBitsError("need three access bytes")
    b6, b7, b8 = access[0], access[1], access[2]
    c1, c2, c3 = b7 >> 4, b8 & 0x0F, b8 >> 4
    if (b6 & 0x0F) != (~c1 & 0x0F) or (b6 >> 4) != (~c2 & 0x0F) or (b7 & 0x0F) != (~c3 & 0x0F):
        raise AccessBitsError("inverted access bits do not match")
    return [((c1 >> i) & 1, (c2 >> i) & 1, (c3 >> i) & 1) for i in range(4)]


def trailer(key_a: bytes, conditions: Sequence[Condition], key_b: bytes) -> bytes:
    """A full sector trailer block: key A | access bits | general purpose byte | key B."""
    if len(key_a) != 6 or len(key_b) != 6:
        raise ValueError("MIFARE keys are 6 bytes")
    return bytes(key_a) + encode_access_bits(conditions) + bytes([GENERAL_PURPOSE_BYTE]) + bytes(key_b)
