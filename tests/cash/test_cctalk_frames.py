"""ccTalk frame codec, byte for byte, and a fuzzed parser that only ever raises FrameError."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.cash import cctalk_frames as ft


def test_simple_poll_to_address_2_matches_the_spec_example() -> None:
    # The ccTalk spec's own example: simple poll from host 1 to a coin acceptor at address 2.
    assert ft.command(2, ft.SIMPLE_POLL) == bytes([0x02, 0x00, 0x01, 0xFE, 0xFF])


def test_simple_poll_to_bill_validator_sums_to_zero() -> None:
    assert ft.command(40, ft.SIMPLE_POLL) == bytes([40, 0, 1, 254, 217])
    assert sum(ft.command(40, ft.SIMPLE_POLL)) % 256 == 0


def test_modify_inhibit_frame_carries_mask_lsb_first() -> None:
    raw = ft.command(40, ft.MODIFY_INHIBIT_STATUS, bytes([0x3F, 0x00]))
    assert raw == bytes([40, 2, 1, 231, 0x3F, 0x00, (-(40 + 2 + 1 + 231 + 0x3F)) & 0xFF])


def test_ack_reply_parses_as_empty_ack() -> None:
    frame = ft.parse_frame(bytes([1, 0, 40, 0, 215]))
    assert frame == ft.Frame(dest=1, source=40, header=0)
    assert frame.is_ack


def test_reply_with_data_round_trips() -> None:
    original = ft.Frame(1, 40, 0, b"Bill Validator")
    raw = ft.build_frame(original)
    assert raw[:4] == bytes([1, 14, 40, 0]) and raw[4:-1] == b"Bill Validator"
    assert ft.parse_frame(raw) == original


def test_frame_with_bad_checksum_is_rejected() -> None:
    raw = bytearray(ft.command(40, ft.SIMPLE_POLL))
    raw[-1] ^= 0x01
    with pytest.raises(ft.FrameError, match="checksum"):
        ft.parse_frame(bytes(raw))


def test_frame_whose_length_byte_disagrees_is_rejected() -> None:
    with pytest.raises(ft.FrameError, match="length"):
        ft.parse_frame(bytes([1, 3, 40, 0, 1, 2]))


def test_short_frame_is_rejected() -> None:
    with pytest.raises(ft.FrameError, match="short"):
        ft.parse_frame(bytes([1, 0, 40]))


def test_crc16_is_xmodem() -> None:
    assert ft.crc16_ccitt(b"123456789") == 0x31C3


def test_crc16_frame_puts_crc_low_byte_in_source_position() -> None:
    crc = ft.crc16_ccitt(bytes([2, 0, 254]))
    raw = ft.command(2, ft.SIMPLE_POLL, checksum=ft.ChecksumKind.CRC16)
    assert raw == bytes([2, 0, crc & 0xFF, 254, crc >> 8])
    assert ft.parse_frame(raw, ft.ChecksumKind.CRC16, source_when_crc=1) == ft.Frame(2, 1, 254)


def test_crc16_frame_with_flipped_data_bit_is_rejected() -> None:
    raw = bytearray(ft.build_frame(ft.Frame(1, 40, 0, b"\x01\x02"), ft.ChecksumKind.CRC16))
    raw[4] ^= 0x80
    with pytest.raises(ft.FrameError, match="CRC"):
        ft.parse_frame(bytes(raw), ft.ChecksumKind.CRC16)


def test_split_frame_waits_for_more_bytes_then_takes_one_frame() -> None:
    stream = ft.build_frame(ft.Frame(1, 40, 0, b"AB")) + ft.command(40, ft.SIMPLE_POLL)
    assert ft.split_frame(stream[:3]) == (None, 0)
    frame, used = ft.split_frame(stream)
    assert frame == ft.Frame(1, 40, 0, b"AB") and used == 7
    assert ft.split_frame(stream[used:])[0] == ft.Frame(40, 1, 254)


def test_split_frame_refuses_impossible_length_at_once() -> None:
    with pytest.raises(ft.FrameError):
        ft.split_frame(bytes([1, 251]))


def test_frame_refuses_more_data_than_fits() -> None:
    with pytest.raises(ValueError):
        ft.Frame(1, 40, 0, bytes(251))


frames = st.builds(ft.Frame, st.integers(0, 255), st.integers(0, 255), st.integers(0, 255),
                   st.binary(max_size=ft.MAX_DATA))


@given(frames, st.sampled_from(list(ft.ChecksumKind)))
def test_every_built_frame_parses_back(frame: ft.Frame, kind: ft.ChecksumKind) -> None:
    parsed = ft.parse_frame(ft.build_frame(frame, kind), kind, source_when_crc=frame.source)
    assert parsed == frame


@given(st.binary(max_size=300), st.sampled_from(list(ft.ChecksumKind)))
def test_parser_on_random_bytes_returns_a_frame_or_raises_frame_error(raw: bytes, kind: ft.ChecksumKind) -> None:
    try:
        frame = ft.parse_frame(raw, kind)
    except ft.FrameError:
        return
    assert ft.build_frame(frame, kind) == raw


@given(st.binary(max_size=300))
def test_stream_splitter_never_loops_or_raises_other_errors(raw: bytes) -> None:
    buffer = bytearray(raw)
    steps = 0
    while buffer:
        steps += 1
        assert steps <= len(raw) + 1
        try:
            frame, used = ft.split_frame(bytes(buffer))
        except ft.FrameError:
            del buffer[:1]
            continue
        if frame is None:
            break
        assert used >= ft.FRAME_OVERHEAD
        del buffer[:used]


@given(frames, st.integers(0, 7), st.integers(0, 7))
def test_single_bit_flip_is_always_detected_by_both_checksums(frame: ft.Frame, position: int, bit: int) -> None:
    for kind in ft.ChecksumKind:
        raw = bytearray(ft.build_frame(frame, kind))
        index = position % len(raw)
        if index == 1:
            continue  # a flipped length byte is caught as a length error, tested above
        raw[index] ^= 1 << bit
        with pytest.raises(ft.FrameError):
            ft.parse_frame(bytes(raw), kind)
