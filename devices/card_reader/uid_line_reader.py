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

    The reader sends one line per tap (some repeat it while the card stays). poll() returns the tag of
    the newest line; the card counts as present for `hold_s` seconds after its last line, so a reader
    that repeats the UID gives one CardPresented per tap and CardRemoved `hold_s` after it stops. It
    cannot talk MIFARE: every card operation raises CardWriteUnsupported, so top-up and spending from
    the card are not offered with this driver.
    """

    can_write = False

    def __init__(self, url: str, baud: int = 9600, *, name: str = "card reader", hold_s: float = 1.0) -> None:
        self.name = name
        self.url = url
        self.hold_s = hold_s
        self.transport = SerialTransport(url, baud, device=name)
        self._tag: Tag | None = None
        self._seen_at = 0.0

    def open(self) -> None:
        self.transport.open()
        self.transport.discard_input()

    def close(self) -> None:
        self._tag = None
        self.transport.close()

    def firmware_version(self) -> str:
        return "UID line reader (identification only)"

    def poll(self, timeout: float) -> Tag | None:
        now = time.monotonic()
        held = self._tag is not None and now - self._seen_at < self.hold_s
        # A held card is reported at once; otherwise wait up to `timeout` for a line.
        deadline = now if held else now + max(0.0, timeout)
        newest: CardUid | None = None
        while True:
            line = self.transport.read_line(deadline)
            if line is None:
                break
            uid = parse_uid_line(line)
            if uid is not None:
                newest = uid
                deadline = time.monotonic()  # got one: only drain what is already waiting
        if newest is not None:
            if self._tag is None or self._tag.uid != newest:
                self._tag = Tag(newest)
            self._seen_at = time.monotonic()
        elif self._tag is not None and time.monotonic() - self._seen_at >= self.hold_s:
            self._tag = None
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

