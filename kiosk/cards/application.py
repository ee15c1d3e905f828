"""CardApplication: issue, read-and-verify and write-and-verify kiosk cards through any CardReader port.

Writes go in a fixed order so that a write cut short (card pulled, crash, power cut) can be recognised
on the next tap from the intent the caller recorded before writing (`expected` image + new value):

    0. sector 1 then sector 2 with key B: read blocks 4, 5, 6 and 8; the card must be in `expected`'s state
    1. still in sector 2: block 8 := new counter | MAC(new value, new counter); read it back
    2. sector 1, key B: increment/decrement block 6 by the difference, transfer; read it back
    3. the blocks read back must decode to the new state with a valid MAC

After step 1 only, the card is TORN: its MAC block belongs to the new state, its value to the old one.
`check_write` tells NOT_APPLIED / TORN / APPLIED / CHANGED; `write_value` completes NOT_APPLIED or
TORN (and returns an APPLIED card as is, so a retry never applies twice); `cancel_write` puts a valid
MAC back over the old value of a TORN card (counter moves on, value stays).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from enum import StrEnum
from typing import TypeVar

from kiosk.cards.access_bits import trailer
from kiosk.cards.keys import MIN_SECRET_BYTES, TRANSPORT_KEY, CardKeys, derive_mac_key
from kiosk.cards.layout import (
    COUNTER_BLOCK,
    COUNTER_SECTOR,
    HOUSEHOLD_BLOCK,
    MAX_COUNTER,
    RECORD_BLOCK,
    RECORD_SECTOR,
    RESERVED_BLOCKS,
    SECTOR_CONDITIONS,
    VALUE_BLOCK,
    CardFormatError,
    CardImage,
    CardRecord,
    compute_mac,
    decode_card,
    encode_counter_block,
    encode_record,
)
from kiosk.cards.value_block import VALUE_MAX, encode_value_block
from kiosk.errors import (
    CardAuthFailed,
    CardError,
    CardRemoved,
    CardRolledBack,
    CardTampered,
    CardUnknown,
    CardWriteUnsupported,
    InvalidAmount,
)
from kiosk.ports import CardReader, KeyType, Tag

T = TypeVar("T")
FACTORY_TRAILER = TRANSPORT_KEY + bytes.fromhex("FF078069") + TRANSPORT_KEY


class WriteState(StrEnum):
    NOT_APPLIED = "not_applied"  # the card still holds `expected`
    TORN = "torn"  # MAC block written for the new state, value block still old
    APPLIED = "applied"  # the card holds the new value and counter
    CHANGED = "changed"  # anything else: another write happened, or the card was tampered with


def trailer_block(sector: int) -> int:
    return sector * 4 + 3


class CardApplication:
    """The site's card application. `master_key` diversifies sector keys; `mac_key` signs card contents."""

    def __init__(self, master_key: bytes, mac_key: bytes | None = None) -> None:
        self.keys = CardKeys(master_key)
        if mac_key is not None and len(mac_key) < MIN_SECRET_BYTES:
            raise ValueError(f"the card MAC key must be at least {MIN_SECRET_BYTES} bytes")
        self.mac_key = bytes(mac_key) if mac_key is not None else derive_mac_key(master_key)

    # --- helpers ------------------------------------------------------------------------------------
    @staticmethod
    def _require_writer(reader: CardReader) -> None:
        if not reader.can_write:
            raise CardWriteUnsupported(f"reader {reader.name} identifies cards only")

    def _auth(self, reader: CardReader, tag: Tag, sector: int, key_type: KeyType) -> None:
        keys = self.keys.sector(tag.uid, sector)
        reader.authenticate(trailer_block(sector), key_type, keys.key_a if key_type is KeyType.A else keys.key_b)

    @staticmethod
    def _reselect(reader: CardReader, tag: Tag) -> None:
        """After a refused authentication the card is idle: select it again, and make sure it is the same."""
        again = reader.poll(0.3)
        if again is None or again.uid != tag.uid:
            raise CardRemoved("the card left while it was being formatted")

    def _with_keys(self, reader: CardReader, tag: Tag, sector: int, fn: Callable[[KeyType], T]) -> T:
        """Run fn after authenticating with the transport key A or, if the sector is already ours, key B."""
        try:
            reader.authenticate(trailer_block(sector), KeyType.A, TRANSPORT_KEY)
            return fn(KeyType.A)
        except CardAuthFailed:
            self._reselect(reader, tag)
        try:
            self._auth(reader, tag, sector, KeyType.B)
        except CardAuthFailed as exc:
            raise CardUnknown(f"sector {sector} has keys of another system") from exc
        return fn(KeyType.B)

    # --- issuance -----------------------------------------------------------------------------------
    def issue(self, reader: CardReader, tag: Tag, record: CardRecord, value_fen: int = 0, *,
              counter: int = 0) -> CardImage:
        """Format a blank card (or finish a half-issued one) for `record` with `value_fen` and `counter`
        (0 for a new card; a ledger's counter when a card is re-created, e.g. the demo's virtual cards).

        Transport keys are replaced by diversified keys and the kiosk's access bits in sectors 1 and 2.
        The result is read back with the new keys and returned.
        """
        self._require_writer(reader)
        if not 0 <= value_fen <= VALUE_MAX:
            raise InvalidAmount(f"value {value_fen}")
        if not 0 <= counter < MAX_COUNTER:
            raise CardError(f"counter {counter} out of range")
        head, house = encode_record(record)
        mac = compute_mac(self.mac_key, tag.uid, head, house, value_fen, counter)
        for sector, data in ((RECORD_SECTOR, {RECORD_BLOCK: head, HOUSEHOLD_BLOCK: house,
                                              VALUE_BLOCK: encode_value_block(value_fen, VALUE_BLOCK)}),
                             (COUNTER_SECTOR, {COUNTER_BLOCK: encode_counter_block(counter, mac),
                                               RESERVED_BLOCKS[0]: bytes(16), RESERVED_BLOCKS[1]: bytes(16)})):
            keys = self.keys.sector(tag.uid, sector)
            new_trailer = trailer(keys.key_a, SECTOR_CONDITIONS[sector], keys.key_b)

            def write(_key: KeyType, data: dict[int, bytes] = data, new_trailer: bytes = new_trailer,
                      sector: int = sector) -> None:
                for block, content in data.items():
                    reader.write_block(block, content)
                reader.write_block(trailer_block(sector), new_trailer)

            self._with_keys(reader, tag, sector, write)
        image = self.inspect(reader, tag)
        if not image.mac_ok or image.record != record or image.state != (value_fen, counter):
            raise CardTampered("the issued card did not read back as written")
        return image

    def reformat(self, reader: CardReader, tag: Tag) -> None:
        """Give the kiosk's sectors back their factory keys and zero them (staff use: retire a card)."""
        self._require_writer(reader)
        for sector in (COUNTER_SECTOR, RECORD_SECTOR):
            def wipe(_key: KeyType, sector: int = sector) -> None:
                for block in range(sector * 4, sector * 4 + 3):
                    reader.write_block(block, bytes(16))
                reader.write_block(trailer_block(sector), FACTORY_TRAILER)
            self._with_keys(reader, tag, sector, wipe)

    # --- reading ------------------------------------------------------------------------------------
    def _read_raw(self, reader: CardReader, tag: Tag, key_type: KeyType) -> tuple[bytes, bytes, bytes, bytes]:
        """Blocks 4, 5, 6 and 8; leaves sector 2 authenticated with `key_type`."""
        try:
            self._auth(reader, tag, RECORD_SECTOR, key_type)
        except CardAuthFailed as exc:
            raise CardUnknown("the card's keys are not this site's") from exc
        head = reader.read_block(RECORD_BLOCK)
        house = reader.read_block(HOUSEHOLD_BLOCK)
        value = reader.read_block(VALUE_BLOCK)
        try:
            self._auth(reader, tag, COUNTER_SECTOR, key_type)
        except CardAuthFailed as exc:
            raise CardTampered("sector 2 no longer opens with this card's key") from exc
        return head, house, value, reader.read_block(COUNTER_BLOCK)

    def _decode(self, tag: Tag, raw: tuple[bytes, bytes, bytes, bytes]) -> CardImage:
        try:
            return decode_card(self.mac_key, tag.uid, *raw)
        except CardFormatError as exc:
            raise CardTampered(str(exc)) from exc

    def inspect(self, reader: CardReader, tag: Tag) -> CardImage:
        """Read the card with the reading keys; `mac_ok` says whether it verifies. No write happens.

        Raises CardUnknown (not a card of this site), CardTampered (not decodable), CardRemoved.
        """
        return self._decode(tag, self._read_raw(reader, tag, KeyType.A))

    def read(self, reader: CardReader, tag: Tag) -> CardImage:
        """Read and verify; CardTampered when the MAC or the value block does not check out."""
        image = self.inspect(reader, tag)
        if not image.mac_ok:
            raise CardTampered("MAC does not match the card's contents")
        return image

    # --- writing ------------------------------------------------------------------------------------
    def _target(self, expected: CardImage, new_value_fen: int, counter: int) -> bytes:
        head, house = encode_record(expected.record)
        return compute_mac(self.mac_key, expected.uid, head, house, new_value_fen, counter)

    def check_write(self, current: CardImage, expected: CardImage, new_value_fen: int) -> WriteState:
        """Where the write from `expected` to `new_value_fen` stands on a card that now reads `current`."""
        if current.uid != expected.uid or current.record != expected.record:
            return WriteState.CHANGED
        new_counter = expected.counter + 1
        if current.mac_ok and current.state == expected.state:
            return WriteState.NOT_APPLIED
        if current.mac_ok and current.state == (new_value_fen, new_counter):
            return WriteState.APPLIED
        if (not current.mac_ok and current.value_fen == expected.value_fen and current.counter == new_counter
                and current.mac == self._target(expected, new_value_fen, new_counter)):
            return WriteState.TORN
        return WriteState.CHANGED

    def check_undo(self, current: CardImage, expected: CardImage, new_value_fen: int) -> WriteState:
        """Where an undo of the write from `expected` to `new_value_fen` stands. Undoing it - giving back a
        value that left the card, or cancelling a torn write - ends with `expected`'s value at the counter after
        the write's: APPLIED when the card is there, TORN when a give-back was cut after its MAC block,
        NOT_APPLIED when the card holds the write itself, CHANGED for anything else."""
        applied = replace(expected, value_fen=new_value_fen, counter=expected.counter + 1)
        return self.check_write(current, applied, expected.value_fen)

    def probe_write(self, reader: CardReader, tag: Tag, expected: CardImage,
                    new_value_fen: int) -> tuple[WriteState, CardImage]:
        """Read the card and say where an interrupted write stands (for resolving recorded intents)."""
        current = self.inspect(reader, tag)
        return self.check_write(current, expected, new_value_fen), current

    def _refuse_changed(self, current: CardImage, expected: CardImage) -> CardError:
        if current.uid != expected.uid or current.record != expected.record:
            return CardTampered("this is not the card the operation started with")
        if current.mac_ok and current.counter < expected.counter:
            return CardRolledBack(f"card counter {current.counter} is behind {expected.counter}")
        if not current.mac_ok:
            return CardTampered("MAC does not match the card's contents")
        return CardTampered(f"card changed since it was read (counter {current.counter}, "
                            f"expected {expected.counter})")

    def _probe_for_write(self, reader: CardReader, tag: Tag, expected: CardImage,
                         new_value_fen: int) -> tuple[WriteState, CardImage, tuple[bytes, bytes, bytes, bytes]]:
        raw = self._read_raw(reader, tag, KeyType.B)  # the writing key reads too: no extra authentications
        current = self._decode(tag, raw)
        state = self.check_write(current, expected, new_value_fen)
        if state is WriteState.CHANGED:
            raise self._refuse_changed(current, expected)
        return state, current, raw

    def _apply(self, reader: CardReader, tag: Tag, raw: tuple[bytes, bytes, bytes, bytes], current: CardImage,
               value_fen: int, counter: int, *, write_mac: bool) -> CardImage:
        """Steps 1-3 of the write order. Sector 2 must be authenticated with key B (after _probe_for_write)."""
        head, house, _value, counter_block = raw
        if write_mac:
            mac = compute_mac(self.mac_key, tag.uid, head, house, value_fen, counter)
            reader.write_block(COUNTER_BLOCK, encode_counter_block(counter, mac))
            counter_block = reader.read_block(COUNTER_BLOCK)
        self._auth(reader, tag, RECORD_SECTOR, KeyType.B)
        delta = value_fen - current.value_fen
        if delta > 0:
            reader.increment(VALUE_BLOCK, delta)
        elif delta < 0:
            reader.decrement(VALUE_BLOCK, -delta)
        if delta:
            reader.transfer(VALUE_BLOCK)
        after = self._decode(tag, (head, house, reader.read_block(VALUE_BLOCK), counter_block))
        if not after.mac_ok or after.state != (value_fen, counter) or after.record != current.record:
            raise CardTampered(f"read-back after write shows value {after.value_fen}, counter {after.counter}")
        return after

    def write_value(self, reader: CardReader, tag: Tag, expected: CardImage, new_value_fen: int) -> CardImage:
        """Set the card from `expected` to `new_value_fen` with counter+1 and a new MAC; verify by reading back.

        Idempotent for one intent: a card already holding the result is returned unchanged, a TORN card is
        completed. Raises CardRemoved if the card goes (the intent stays open), CardRolledBack/CardTampered
        if the card is not in `expected`'s state.
        """
        self._require_writer(reader)
        if isinstance(new_value_fen, bool) or not isinstance(new_value_fen, int) or not 0 <= new_value_fen <= VALUE_MAX:
            raise InvalidAmount(f"card value {new_value_fen!r}")
        if expected.counter >= MAX_COUNTER:
            raise CardError("the card's transaction counter is exhausted; replace the card")
        state, current, raw = self._probe_for_write(reader, tag, expected, new_value_fen)
        if state is WriteState.APPLIED:
            return current
        return self._apply(reader, tag, raw, current, new_value_fen, expected.counter + 1,
                           write_mac=state is WriteState.NOT_APPLIED)

    def cancel_write(self, reader: CardReader, tag: Tag, expected: CardImage,
                     new_value_fen: int) -> tuple[WriteState, CardImage]:
        """Abandon an interrupted write: the card keeps (or gets back) `expected`'s value with a valid MAC.

        Returns the state found and the card afterwards. NOT_APPLIED: nothing to do. TORN: a valid MAC for
        the old value is written with the next counter. APPLIED: nothing is undone (the card holds the
        money; the caller completes the ledger instead). CHANGED raises like write_value.
        """
        self._require_writer(reader)
        state, current, raw = self._probe_for_write(reader, tag, expected, new_value_fen)
        if state is not WriteState.TORN:
            return state, current
        return state, self._apply(reader, tag, raw, current, expected.value_fen, current.counter + 1,
                                  write_mac=True)


def check_against_ledger(image: CardImage, ledger_counter: int, ledger_value_fen: int) -> None:
    """The tap-time reconciliation rule: the ledger is the truth.

    A MAC failure is tampering; a counter behind the ledger is a card restored to an older state; the same
    counter with another value, or a counter ahead of the ledger, is a card written outside the kiosk.
    """
    if not image.mac_ok:
        raise CardTampered("MAC does not match the card's contents")
    if image.counter < ledger_counter:
        raise CardRolledBack(f"card counter {image.counter} is behind the ledger's {ledger_counter}")
    if image.counter > ledger_counter or image.value_fen != ledger_value_fen:
        raise CardTampered(f"card holds {image.value_fen} fen at counter {image.counter}; the ledger says "
                           f"{ledger_value_fen} fen at {ledger_counter}")
