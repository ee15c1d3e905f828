"""Card record and MAC encoding: exact layout, and fuzzing that no altered card verifies."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.cards.layout import (
    MAX_CARD_NUMBER,
    VALUE_BLOCK,
    CardFormatError,
    CardKind,
    CardRecord,
    compute_mac,
    decode_card,
    decode_record,
    encode_counter_block,
    encode_record,
)
from kiosk.cards.value_block import encode_value_block
from kiosk.ports import CardUid

MAC_KEY = bytes(range(32))
UID = CardUid.from_hex("04A1B2C3")

records = st.builds(
    CardRecord,
    card_number=st.integers(1, MAX_CARD_NUMBER),
    kind=st.sampled_from(list(CardKind)),
    household_ref=st.text(min_size=1, max_size=5).filter(lambda s: "\x00" not in s and 0 < len(s.encode()) <= 16),
    issue_seq=st.integers(0, 0xFFFF),
)


def _blocks(record: CardRecord, value: int, counter: int) -> tuple[bytes, bytes, bytes, bytes]:
    head, house = encode_record(record)
    mac = compute_mac(MAC_KEY, UID, head, house, value, counter)
    return head, house, encode_value_block(value, VALUE_BLOCK), encode_counter_block(counter, mac)


def test_record_block_layout() -> None:
    head, house = encode_record(CardRecord(1234, CardKind.VEHICLE, "3-2-1502", 7))
    assert head == b"EK" + bytes([1, 3]) + (7).to_bytes(2, "big") + (1234).to_bytes(8, "big") + b"\x00\x00"
    assert house == b"3-2-1502" + bytes(8)


def test_chinese_household_reference_fits_in_utf8() -> None:
    rec = CardRecord(1, CardKind.RESIDENT, "3栋2单元1502")  # 15 UTF-8 bytes
    assert decode_record(*encode_record(rec)) == rec
    with pytest.raises(ValueError):
        CardRecord(1, CardKind.RESIDENT, "三栋2单元1502")  # 17 bytes: one too many


@pytest.mark.parametrize("kwargs", [dict(card_number=0), dict(household_ref=""), dict(household_ref="x" * 17),
                                    dict(issue_seq=70000), dict(kind="guest")])
def test_invalid_records_are_refused(kwargs: dict[str, object]) -> None:
    base = dict(card_number=1, kind="resident", household_ref="A-1", issue_seq=1)
    base.update(kwargs)
    with pytest.raises(ValueError):
        CardRecord(**base)  # type: ignore[arg-type]


@given(records, st.integers(0, 2 ** 31 - 1), st.integers(0, 2 ** 32 - 1))
def test_cards_round_trip_and_verify(record: CardRecord, value: int, counter: int) -> None:
    image = decode_card(MAC_KEY, UID, *_blocks(record, value, counter))
    assert image.mac_ok and image.record == record and image.state == (value, counter)


@given(records, st.integers(0, 2 ** 31 - 1), st.integers(0, 2 ** 32 - 1), st.integers(0, 4 * 128 - 1))
def test_any_single_bit_flip_is_refused_or_fails_the_mac(record: CardRecord, value: int, counter: int,
                                                       bit: int) -> None:
    blocks = [bytearray(b) for b in _blocks(record, value, counter)]
    blocks[bit // 128][(bit % 128) // 8] ^= 1 << (bit % 8)
    try:
        image = decode_card(MAC_KEY, UID, *map(bytes, blocks))
    except CardFormatError:
        return
    assert not image.mac_ok


@given(records, st.integers(0, 2 ** 31 - 1), st.integers(1, 2 ** 32 - 1), st.integers(1, 1000))
def test_rolled_back_counter_with_the_old_mac_does_not_verify(record: CardRecord, value: int, counter: int,
                                                              back: int) -> None:
    head, house, val, ctr = _blocks(record, value, counter)
    old = max(0, counter - back)
    # The attacker keeps today's MAC but writes an older counter: MAC fails.
    tampered = encode_counter_block(old, ctr[4:])
    assert not decode_card(MAC_KEY, UID, head, house, val, tampered).mac_ok


@given(records, st.integers(0, 2 ** 31 - 1), st.integers(0, 2 ** 32 - 1))
def test_a_card_copied_to_another_uid_does_not_verify(record: CardRecord, value: int, counter: int) -> None:
    image = decode_card(MAC_KEY, CardUid.from_hex("04A1B2C4"), *_blocks(record, value, counter))
    assert not image.mac_ok


@given(st.binary(min_size=16, max_size=16), st.binary(min_size=16, max_size=16),
       st.binary(min_size=16, max_size=16), st.binary(min_size=16, max_size=16))
def test_random_blocks_never_crash_and_never_verify(head: bytes, house: bytes, value: bytes, ctr: bytes) -> None:
    try:
        image = decode_card(MAC_KEY, UID, head, house, value, ctr)
    except CardFormatError:
        return
    assert not image.mac_ok


@given(st.binary(max_size=20), st.binary(max_size=20))
def test_record_decoder_accepts_only_what_encode_writes(head: bytes, house: bytes) -> None:
    try:
        rec = decode_record(head, house)
    except CardFormatError:
        return
    assert encode_record(rec) == (head, house)
