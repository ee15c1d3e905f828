"""The value-block codec: exact bytes, and no inconsistent block ever decodes."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.cards.value_block import VALUE_MAX, VALUE_MIN, ValueBlockError, decode_value_block, encode_value_block


def test_value_block_bytes_match_the_datasheet_layout() -> None:
    assert encode_value_block(100, 6) == bytes.fromhex("64000000" "9BFFFFFF" "64000000" "06F906F9")


def test_negative_values_are_twos_complement() -> None:
    assert decode_value_block(encode_value_block(-1, 6)) == (-1, 6)


def test_value_outside_32_bits_is_refused() -> None:
    with pytest.raises(ValueError):
        encode_value_block(VALUE_MAX + 1, 6)


@given(st.integers(VALUE_MIN, VALUE_MAX), st.integers(0, 255))
def test_round_trip(value: int, addr: int) -> None:
    assert decode_value_block(encode_value_block(value, addr)) == (value, addr)


@given(st.integers(VALUE_MIN, VALUE_MAX), st.integers(0, 255), st.integers(0, 127))
def test_any_single_bit_flip_is_detected(value: int, addr: int, bit: int) -> None:
    raw = bytearray(encode_value_block(value, addr))
    raw[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(ValueBlockError):
        decode_value_block(bytes(raw))


@given(st.integers(VALUE_MIN, VALUE_MAX), st.integers(VALUE_MIN, VALUE_MAX), st.integers(0, 2))
def test_value_blocks_whose_copies_disagree_are_refused(a: int, b: int, which: int) -> None:
    raw = bytearray(encode_value_block(a, 6))
    other = encode_value_block(b, 6)
    raw[which * 4:which * 4 + 4] = other[which * 4:which * 4 + 4]
    if a == b:
        assert decode_value_block(bytes(raw)) == (a, 6)
    else:
        with pytest.raises(ValueBlockError):
            decode_value_block(bytes(raw))


@given(st.binary(max_size=20))
def test_random_bytes_decode_only_when_consistent(raw: bytes) -> None:
    try:
        value, addr = decode_value_block(raw)
    except ValueBlockError:
        return
    assert encode_value_block(value, addr) == raw
