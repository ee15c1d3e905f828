"""A virtual MIFARE Classic 1K card: 64 blocks, sector trailers with keys and access bits, value blocks.

It answers the way a real card does at the level the PN532 reports: authentication per sector with key
A or B (a wrong key fails and drops the card to idle), then read / write / increment / decrement /
restore / transfer, each allowed or refused by the sector's access conditions (MIFARE Classic EV1
datasheet, 8.7). Crypto1 itself is not simulated. Cards load from and save to JSON:

    {"uid": "04A1B2C3", "atqa": "0004", "sak": "08", "blocks": {"4": "00..", ...}}

`blocks` may list any subset (the rest are factory blank) or all 64 as a list of hex strings.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

BLOCKS = 64
FACTORY_KEY = b"\xff" * 6
FACTORY_ACCESS = bytes.fromhex("FF078069")

# Data blocks: access condition (C1,C2,C3) -> which keys may read, write, increment, dec/transfer/restore.
_DATA_RULES: dict[tuple[int, int, int], tuple[str, str, str, str]] = {
    (0, 0, 0): ("AB", "AB", "AB", "AB"),
    (0, 1, 0): ("AB", "", "", ""),
    (1, 0, 0): ("AB", "B", "", ""),
    (1, 1, 0): ("AB", "B", "B", "AB"),
    (0, 0, 1): ("AB", "", "", "AB"),
    (0, 1, 1): ("B", "B", "", ""),
    (1, 0, 1): ("B", "", "", ""),
    (1, 1, 1): ("", "", "", ""),
}
# Trailer: condition -> (key A read, key A write, access read, access write, key B read, key B write).
_TRAILER_RULES: dict[tuple[int, int, int], tuple[str, str, str, str, str, str]] = {
    (0, 0, 0): ("", "A", "A", "", "A", "A"),
    (0, 1, 0): ("", "", "A", "", "A", ""),
    (1, 0, 0): ("", "B", "AB", "", "", "B"),
    (1, 1, 0): ("", "", "AB", "", "", ""),
    (0, 0, 1): ("", "A", "A", "A", "A", "A"),
    (0, 1, 1): ("", "B", "AB", "B", "", "B"),
    (1, 0, 1): ("", "", "AB", "B", "", ""),
    (1, 1, 1): ("", "", "AB", "", "", ""),
}


def decode_access(access: bytes) -> list[tuple[int, int, int]] | None:
    """The (C1,C2,C3) of blocks 0..3 of a sector, or None when the inverted copies disagree."""
    b6, b7, b8 = access[0], access[1], access[2]
    c1, c2, c3 = b7 >> 4, b8 & 0x0F, b8 >> 4
    if (b6 & 0x0F) != (~c1 & 0x0F) or (b6 >> 4) != (~c2 & 0x0F) or (b7 & 0x0F) != (~c3 & 0x0F):
        return None
    return [((c1 >> i) & 1, (c2 >> i) & 1, (c3 >> i) & 1) for i in range(4)]


def is_value_block(data: bytes) -> bool:
    v, nv, v2 = data[0:4], data[4:8], data[8:12]
    a = data[12:16]
    return (v == v2 and bytes(x ^ 0xFF for x in v) == nv
            and a[0] == a[2] and a[1] == a[3] and a[0] ^ 0xFF == a[1])


class CardRefused(Exception):
    """The card NAKed (or, for a failed authentication, went silent)."""


@dataclass
class _Session:
    sector: int
    key: str  # "A" or "B"


class VirtualMifareCard:
    """One MIFARE Classic 1K card. Thread-safe; the simulator and a test may touch it at once."""

    def __init__(self, uid: bytes, blocks: list[bytes] | None = None, atqa: int = 0x0004, sak: int = 0x08) -> None:
        if len(uid) not in (4, 7):
            raise ValueError("UID must be 4 or 7 bytes")
        self.uid = bytes(uid)
        self.atqa = atqa
        self.sak = sak
        self._lock = threading.RLock()
        self.blocks: list[bytearray] = [bytearray(b) for b in (blocks or self._factory_blocks())]
        if len(self.blocks) != BLOCKS or any(len(b) != 16 for b in self.blocks):
            raise ValueError("a 1K card has 64 blocks of 16 bytes")
        self._session: _Session | None = None
        self._register: int | None = None
        self.operations = 0

    def _factory_blocks(self) -> list[bytes]:
        if len(self.uid) == 4:
            bcc = self.uid[0] ^ self.uid[1] ^ self.uid[2] ^ self.uid[3]
            block0 = self.uid + bytes([bcc, self.sak]) + self.atqa.to_bytes(2, "little") + bytes(8)
        else:
            block0 = self.uid + bytes([self.sak]) + self.atqa.to_bytes(2, "little") + bytes(6)
        trailer = FACTORY_KEY + FACTORY_ACCESS + FACTORY_KEY
        return [block0] + [trailer if b % 4 == 3 else bytes(16) for b in range(1, BLOCKS)]

    # --- session ------------------------------------------------------------------------------------
    def reset(self) -> None:
        """The card left the field or was selected again: authentication is gone."""
        with self._lock:
            self._session = None
            self._register = None

    def _conditions(self, sector: int) -> list[tuple[int, int, int]]:
        trailer = self.blocks[sector * 4 + 3]
        conds = decode_access(bytes(trailer[6:9]))
        if conds is None:
            raise CardRefused("sector trailer access bits are inconsistent; sector is blocked")
        return conds

    def _key_b_readable(self, sector: int) -> bool:
        return "A" in _TRAILER_RULES[self._conditions(sector)[3]][4]

    def authenticate(self, key_type: str, block: int, key: bytes, uid4: bytes) -> None:
        with self._lock:
            self._session = None
            if not 0 <= block < BLOCKS or uid4 != self.uid[-4:]:
                raise CardRefused("authentication failed")
            sector = block // 4
            trailer = self.blocks[sector * 4 + 3]
            stored = bytes(trailer[0:6]) if key_type == "A" else bytes(trailer[10:16])
            if key != stored:
                raise CardRefused("authentication failed")
            self._session = _Session(sector, key_type)
            self.operations += 1

    def _allowed(self, block: int, what: int) -> bool:
        s = self._session
        if s is None or block // 4 != s.sector or block == 0 and what != 0:
            return False
        if s.key == "B" and self._key_b_readable(s.sector):
            return False  # key B is data when readable; it cannot grant access
        cond = self._conditions(s.sector)[block % 4]
        return s.key in _DATA_RULES[cond][what]

    def _fail(self) -> CardRefused:
        self._session = None  # a NAK drops the card out of the authenticated state
        self._register = None
        return CardRefused("operation not allowed")

    def read(self, block: int) -> bytes:
        with self._lock:
            if 0 <= block < BLOCKS and block % 4 == 3 and self._session and self._session.sector == block // 4:
                conds = self._conditions(block // 4)[3]
                rules = _TRAILER_RULES[conds]
                t = self.blocks[block]
                key_b = bytes(t[10:16]) if self._session.key in rules[4] else bytes(6)
                access = bytes(t[6:10]) if self._session.key in rules[2] else bytes(4)
                self.operations += 1
                return bytes(6) + access + key_b
            if not (0 <= block < BLOCKS) or not self._allowed(block, 0):
                raise self._fail()
            self.operations += 1
            return bytes(self.blocks[block])

    def write(self, block: int, data: bytes) -> None:
        with self._lock:
            if len(data) != 16 or not 0 < block < BLOCKS:
                raise self._fail()
            if block % 4 == 3:
                self._write_trailer(block, data)
            elif not self._allowed(block, 1):
                raise self._fail()
            else:
                self.blocks[block][:] = data
            self.operations += 1

    def _write_trailer(self, block: int, data: bytes) -> None:
        s = self._session
        if s is None or s.sector != block // 4:
            raise self._fail()
        rules = _TRAILER_RULES[self._conditions(s.sector)[3]]
        t = self.blocks[block]
        new = bytearray(t)
        if s.key in rules[1]:
            new[0:6] = data[0:6]
        if s.key in rules[3]:
            if decode_access(bytes(data[6:9])) is None:
                raise self._fail()  # a real card would brick the sector; refuse instead
            new[6:10] = data[6:10]
        if s.key in rules[5]:
            new[10:16] = data[10:16]
        if new == t and data != bytes(t):
            raise self._fail()  # nothing was writable with this key
        t[:] = new

    def _value_of(self, block: int) -> int:
        data = bytes(self.blocks[block])
        if not is_value_block(data):
            raise self._fail()
        return int.from_bytes(data[0:4], "little", signed=True)

    def value_op(self, op: str, block: int, operand: int = 0) -> None:
        """op is 'increment', 'decrement' or 'restore': the result goes to the register until transfer."""
        with self._lock:
            if not 0 < block < BLOCKS or block % 4 == 3:
                raise self._fail()
            what = 2 if op == "increment" else 3
            if not self._allowed(block, what):
                raise self._fail()
            value = self._value_of(block)
            if op == "increment":
                value += operand
            elif op == "decrement":
                value -= operand
            if not -(2 ** 31) <= value < 2 ** 31:
                raise self._fail()
            self._register = value
            self.operations += 1

    def transfer(self, block: int) -> None:
        with self._lock:
            if self._register is None or not 0 < block < BLOCKS or block % 4 == 3 or not self._allowed(block, 3):
                raise self._fail()
            old = bytes(self.blocks[block])
            addr = old[12] if is_value_block(old) else block
            v = self._register.to_bytes(4, "little", signed=True)
            inv = bytes(x ^ 0xFF for x in v)
            self.blocks[block][:] = v + inv + v + bytes([addr, addr ^ 0xFF, addr, addr ^ 0xFF])
            self._register = None
            self.operations += 1

    # --- files --------------------------------------------------------------------------------------
    def to_json(self) -> dict[str, object]:
        with self._lock:
            return {"uid": self.uid.hex().upper(), "atqa": f"{self.atqa:04X}", "sak": f"{self.sak:02X}",
                    "blocks": [bytes(b).hex().upper() for b in self.blocks]}

    @classmethod
    def from_json(cls, obj: dict[str, object]) -> VirtualMifareCard:
        uid = bytes.fromhex(str(obj["uid"]))
        atqa = int(str(obj.get("atqa", "0004")), 16)
        sak = int(str(obj.get("sak", "08")), 16)
        card = cls(uid, atqa=atqa, sak=sak)
        blocks = obj.get("blocks")
        if isinstance(blocks, list):
            card.blocks = [bytearray(bytes.fromhex(b)) for b in blocks]
        elif isinstance(blocks, dict):
            for k, v in blocks.items():
                card.blocks[int(k)][:] = bytes.fromhex(v)
        if len(card.blocks) != BLOCKS or any(len(b) != 16 for b in card.blocks):
            raise ValueError("a 1K card has 64 blocks of 16 bytes")
        return card

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> VirtualMifareCard:
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))


def load_cards(path: str | Path) -> list[VirtualMifareCard]:
    """A card file holds one card object or {"cards": [card, ...]}."""
    obj = json.loads(Path(path).read_text(encoding="utf-8"))
    items = obj["cards"] if isinstance(obj, dict) and "cards" in obj else obj if isinstance(obj, list) else [obj]
    return [VirtualMifareCard.from_json(o) for o in items]
