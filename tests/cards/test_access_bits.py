"""Access bits: the factory bytes, the kiosk's chosen conditions, and the rule that key A cannot add value."""
from __future__ import annotations

import itertools

import pytest

from kiosk.cards.access_bits import (
    FACTORY_ACCESS,
    TRAILER_TRANSPORT,
    AccessBitsError,
    decode_access_bits,
    encode_access_bits,
    trailer,
)
from kiosk.cards.layout import COUNTER_SECTOR, RECORD_SECTOR, SECTOR_CONDITIONS


def test_factory_conditions_encode_to_ff0780() -> None:
    assert encode_access_bits([(0, 0, 0)] * 3 + [TRAILER_TRANSPORT]) == FACTORY_ACCESS


def test_kiosk_record_sector_bytes() -> None:
    # C1=0111 C2=1100 C3=1000 worked by hand from the datasheet's bit placement
    assert encode_access_bits(SECTOR_CONDITIONS[RECORD_SECTOR]) == bytes.fromhex("38778C")


def test_kiosk_counter_sector_bytes() -> None:
    assert encode_access_bits(SECTOR_CONDITIONS[COUNTER_SECTOR]) == bytes.fromhex("787788")


def test_value_block_condition_lets_only_key_b_increment() -> None:
    # 110: read A|B, write B, increment B, decrement/transfer/restore A|B (datasheet table 8)
    assert SECTOR_CONDITIONS[RECORD_SECTOR][2] == (1, 1, 0)
    # 011 on the trailer: key B is secret (not readable) and only key B changes keys and access bits
    assert SECTOR_CONDITIONS[RECORD_SECTOR][3] == (0, 1, 1)


def test_every_combination_round_trips() -> None:
    conds = list(itertools.product((0, 1), repeat=3))
    for combo in itertools.product(conds, repeat=4):
        assert decode_access_bits(encode_access_bits(combo)) == list(combo)


def test_inconsistent_bytes_are_refused() -> None:
    with pytest.raises(AccessBitsError):
        decode_access_bits(bytes.fromhex("FF0781"))


def test_trailer_block_layout() -> None:
    t = trailer(b"\xaa" * 6, SECTOR_CONDITIONS[RECORD_SECTOR], b"\xbb" * 6)
    assert t == b"\xaa" * 6 + bytes.fromhex("38778C69") + b"\xbb" * 6
