"""UidLineCardReader: cheap readers that type the card UID as a hex line on a serial port (identification only)."""
from __future__ import annotations

import re
import time

from devices.card_reader.transport import SerialTransport
from kiosk.errors import CardWriteUnsupported
from kiosk.ports import CardUid, KeyType, Tag

_HEX_UID = re.compile(rb"^(?:[0-9A-Fa-f]{8}|[0-9A-Fa-f]{14}|[0-9A-Fa-f]{20})$")


def parse_uid_line(line: bytes) -> CardUid | None:
    """A 4/7/10-byte UID from one line such as b"04A1B2C3" or b"04:a1:b2:c3"; None for anything else."""
    text = line.strip().replace(b":", b"").replace(b" ", b"").replace(b"-", b"")
    if not _HEX_UID.match(text):
        return None
    return CardUid(bytes.fromhex(text.decode("ascii")))


class UidLineCardReader:
    """Implements kiosk.ports.CardReader for readers that only send the UID.

    The reader sends one line per tap (some repeat it while the card stays); poll() returns the tag of
    the newest line within the timeout. It cannot talk MIFARE: every card operation raises
    CardWriteUnsupported, so top-up and spending from the card are not offered with this driver.
    """

    can_write = False

    def __init__(self, url: str, baud: int = 9600, *, name: str = "card reader") -> None:
        self.name = name
        self.url = url
        self.transport = SerialTransport(url, baud, device=name)
        self._tag: Tag | None = None

    def open(self) -> None:
        self.transport.open()
        self.transport.discard_input()

    def close(self) -> None:
        self._tag = None
        self.transport.close()

    def firmware_version(self) -> str:
        return "UID line reader (identification only)"

    def poll(self, timeout: float) -> Tag | None:
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            line = self.transport.read_line(deadline)
            if line is None:
                self._tag = None
                return None
            uid = parse_uid_line(line)
            if uid is not None:
                self._tag = Tag(uid)
                return self._tag

    def release(self) -> None:
        self._tag = None

    def _unsupported(self, what: str) -> CardWriteUnsupported:
        if self._tag is None:
            return CardWriteUnsupported(f"{what}: no card, and this reader only reads UIDs")
        return CardWriteUnsupported(f"{what}: the {self.name} driver 'uid-line' only reads UIDs")

    def authenticate(self, block: int, key_type: KeyType, key: bytes) -> None:
        raise self._unsupported("authenticate")

    def read_block(self, block: int) -> bytes:
        raise self._unsupported("read")

    def write_block(self, block: int, data: bytes) -> None:
        raise self._unsupported("write")

    def increment(self, block: int, amount: int) -> None:
        raise self._unsupported("increment")

    def decrement(self, block: int, amount: int) -> None:
        raise self._unsupported("decrement")

    def restore(self, block: int) -> None:
        raise self._unsupported("restore")

    def transfer(self, block: int) -> None:
        raise self._unsupported("transfer")

