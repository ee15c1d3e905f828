"""The kiosk's data layout on a MIFARE Classic 1K card, as pure encode/decode functions and the card MAC.

    sector 1 (keys diversified per card, trailer condition 011)
      block 4  record    "EK" | version 01 | kind | issue seq (u16 BE) | card number (u64 BE) | 00 00
      block 5  household reference, UTF-8, NUL padded (up to 16 bytes)
      block 6  stored value in fen: MIFARE value block (condition 110: increment needs key B)
      block 7  trailer   key A | access bits | 69 | key B
    sector 2 (keys diversified per card, trailer condition 011)
      block 8  transaction counter (u32 BE) | MAC (12 bytes)
      block 9, 10 reserved (zero)
      block 11 trailer
    sectors 0, 3..15 are left as they came from the factory (not the kiosk's).

MAC = HMAC-SHA256(mac key, "EKMAC1" | UID | block 4 | block 5 | value (i32 BE) | counter (u32 BE))[:12].
The MAC block is written before the value so that a write cut short is recognisable (see application).
"""
from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass
from enum import StrEnum

from kiosk.cards.access_bits import DATA_READ_AB_WRITE_B, TRAILER_KEYS_B, VALUE_DEC_AB_INC_B, Condition
from kiosk.cards.value_block import VALUE_MAX, ValueBlockError, decode_value_block
from kiosk.ports import CardUid

RECORD_SECTOR = 1
COUNTER_SECTOR = 2
RECORD_BLOCK = 4
HOUSEHOLD_BLOCK = 5
VALUE_BLOCK = 6
COUNTER_BLOCK = 8
RESERVED_BLOCKS = (9, 10)
SECTORS = (RECORD_SECTOR, COUNTER_SECTOR)

SECTOR_CONDITIONS: dict[int, tuple[Condition, Condition, Condition, Condition]] = {
    RECORD_SECTOR: (DATA_READ_AB_WRITE_B, DATA_READ_AB_WRITE_B, VALUE_DEC_AB_INC_B, TRAILER_KEYS_B),
    COUNTER_SECTOR: (DATA_READ_AB_WRITE_B, DATA_READ_AB_WRITE_B, DATA_READ_AB_WRITE_B, TRAILER_KEYS_B),
}

MAGIC = b"EK"
VERSION = 1
MAC_LEN = 12
MAX_CARD_NUMBER = 10 ** 16 - 1
MAX_COUNTER = 2 ** 32 - 1
MAX_ISSUE_SEQ = 0xFFFF
HOUSEHOLD_MAX_BYTES = 16


class CardKind(StrEnum):
    RESIDENT = "resident"
    SMART = "smart"
    VEHICLE = "vehicle"


_KIND_CODES = {CardKind.RESIDENT: 1, CardKind.SMART: 2, CardKind.VEHICLE: 3}
_KINDS_BY_CODE = {v: k for k, v in _KIND_CODES.items()}


class CardFormatError(ValueError):
    """Card bytes that do not decode as a kiosk card record."""


@dataclass(frozen=True)
class CardRecord:
    card_number: int
    kind: CardKind
    household_ref: str
    issue_seq: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.card_number, bool) or not isinstance(self.card_number, int) \
                or not 0 < self.card_number <= MAX_CARD_NUMBER:
            raise ValueError(f"card number must be 1..{MAX_CARD_NUMBER}")
        object.__setattr__(self, "kind", CardKind(self.kind))
        raw = self.household_ref.encode("utf-8")
        if not raw or len(raw) > HOUSEHOLD_MAX_BYTES or b"\x00" in raw:
            raise ValueError(f"household reference must be 1..{HOUSEHOLD_MAX_BYTES} UTF-8 bytes without NUL")
        if not 0 <= self.issue_seq <= MAX_ISSUE_SEQ:
            raise ValueError("issue sequence must fit 16 bits")


def encode_record(record: CardRecord) -> tuple[bytes, bytes]:
    """(block 4, block 5) for a record."""
    head = MAGIC + bytes([VERSION, _KIND_CODES[record.kind]]) + struct.pack(">HQ", record.issue_seq,
                                                                           record.card_number) + b"\x00\x00"
    house = record.household_ref.encode("utf-8").ljust(16, b"\x00")
    return head, house


def decode_record(head: bytes, house: bytes) -> CardRecord:
    """The record in blocks 4 and 5; CardFormatError for anything that is not exactly what encode writes."""
    if len(head) != 16 or len(house) != 16:
        raise CardFormatError("record blocks are 16 bytes")
    if head[0:2] != MAGIC:
        raise CardFormatError("not a kiosk card (magic)")
    if head[2] != VERSION:
        raise CardFormatError(f"unknown layout version {head[2]}")
    kind = _KINDS_BY_CODE.get(head[3])
    if kind is None:
        raise CardFormatError(f"unknown card kind code {head[3]}")
    if head[14:16] != b"\x00\x00":
        raise CardFormatError("reserved record bytes are not zero")
    issue_seq, number = struct.unpack(">HQ", head[4:14])
    text = house.rstrip(b"\x00")
    if b"\x00" in text or not text:
        raise CardFormatError("household reference is malformed")
    try:
        ref = text.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CardFormatError("household reference is not UTF-8") from exc
    try:
        return CardRecord(number, kind, ref, issue_seq)
    except ValueError as exc:
        raise CardFormatError(str(exc)) from exc


def compute_mac(mac_key: bytes, uid: CardUid, head: bytes, house: bytes, value_fen: int, counter: int) -> bytes:
    msg = b"EKMAC1" + uid.raw + head + house + struct.pack(">iI", value_fen, counter)
    return hmac.new(mac_key, msg, hashlib.sha256).digest()[:MAC_LEN]


def encode_counter_block(counter: int, mac: bytes) -> bytes:
    if not 0 <= counter <= MAX_COUNTER or len(mac) != MAC_LEN:
        raise ValueError("counter must be u32 and the MAC 12 bytes")
    return struct.pack(">I", counter) + mac


def decode_counter_block(data: bytes) -> tuple[int, bytes]:
    if len(data) != 16:
        raise CardFormatError("counter block is 16 bytes")
    return struct.unpack(">I", data[0:4])[0], bytes(data[4:16])


@dataclass(frozen=True)
class CardImage:
    """What a card holds, as read. `mac_ok` is False when the MAC does not match the other fields."""

    uid: CardUid
    record: CardRecord
    value_fen: int
    counter: int
    mac_ok: bool
    mac: bytes = b""

    @property
    def state(self) -> tuple[int, int]:
        return self.value_fen, self.counter


def decode_card(mac_key: bytes, uid: CardUid, head: bytes, house: bytes, value: bytes,
                counter_block: bytes) -> CardImage:
    """Decode and check the four data blocks; CardFormatError if they are not a kiosk card at all."""
    record = decode_record(head, house)
    try:
        value_fen, address = decode_value_block(value)
    except ValueBlockError as exc:
        raise CardFormatError(f"value block: {exc}") from exc
    if address != VALUE_BLOCK:
        raise CardFormatError(f"value block carries address {address}, expected {VALUE_BLOCK}")
    if not 0 <= value_fen <= VALUE_MAX:
        raise CardFormatError("negative stored value")
    counter, mac = decode_counter_block(counter_block)
    expected = compute_mac(mac_key, uid, head, house, value_fen, counter)
    return CardImage(uid, record, value_fen, counter, hmac.compare_digest(mac, expected), mac)
