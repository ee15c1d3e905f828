"""PN532 frames byte for byte, and fuzzing of the parser: never a crash, never a wrong acceptance."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.card_reader.pn532_frames import (
    ACK,
    ERROR_FRAME,
    NACK,
    WAKEUP_PREAMBLE,
    Frame,
    FrameError,
    FrameKind,
    FrameStream,
    build_command,
    build_frame,
    build_response,
    decode_frame,
    encode,
)


def test_get_firmware_version_command_matches_the_manual() -> None:
    assert build_command(0x02) == bytes.fromhex("0000FF02FED4022A00")


def test_firmware_response_decodes() -> None:
    frame, n = decode_frame(bytes.fromhex("0000FF06FAD50332010607E800"))
    assert n == 13
    assert frame == Frame(FrameKind.DATA, 0xD5, bytes.fromhex("0332010607"))
    assert frame.command == 0x03 and frame.payload == bytes.fromhex("32010607")


def test_sam_configuration_command_matches_the_manual() -> None:
    assert build_command(0x14, b"\x01\x14\x01") == bytes.fromhex("0000FF05FBD4140114010200")


@pytest.mark.parametrize("raw, kind", [(ACK, FrameKind.ACK), (NACK, FrameKind.NACK), (ERROR_FRAME, FrameKind.ERROR)])
def test_control_frames_decode(raw: bytes, kind: FrameKind) -> None:
    frame, n = decode_frame(raw)
    assert frame is not None and frame.kind is kind and n == len(raw)
    assert encode(frame) == raw


def test_wakeup_preamble_and_noise_before_a_frame_are_skipped() -> None:
    raw = WAKEUP_PREAMBLE + b"\x00\x00" + build_command(0x02)
    frame, n = decode_frame(raw)
    assert frame is not None and frame.command == 0x02 and n == len(raw)


def test_frame_with_bad_lcs_is_rejected() -> None:
    raw = bytearray(build_response(0x02, b"\x32\x01\x06\x07"))
    raw[4] ^= 0x01
    with pytest.raises(FrameError, match="LCS"):
        decode_frame(bytes(raw))


def test_frame_with_bad_dcs_is_rejected() -> None:
    raw = bytearray(build_response(0x02, b"\x32\x01\x06\x07"))
    raw[-2] ^= 0x80
    with pytest.raises(FrameError, match="DCS"):
        decode_frame(bytes(raw))


def test_frame_without_postamble_is_rejected() -> None:
    raw = bytearray(build_response(0x02, b"\x32"))
    raw[-1] = 0x55
    with pytest.raises(FrameError, match="postamble"):
        decode_frame(bytes(raw))


def test_truncated_frame_waits_for_more_bytes() -> None:
    raw = build_response(0x40, bytes(17))
    for cut in range(len(raw)):
        frame, _ = decode_frame(raw[:cut])
        assert frame is None


def test_long_body_uses_an_extended_frame() -> None:
    data = bytes(range(256)) + bytes(44)
    raw = build_frame(0xD5, data)
    assert raw[:5] == b"\x00\x00\xff\xff\xff"
    assert raw[5:7] == (len(data) + 1).to_bytes(2, "big")
    assert (raw[5] + raw[6] + raw[7]) & 0xFF == 0
    frame, n = decode_frame(raw)
    assert frame is not None and frame.data == data and n == len(raw)


def test_extended_frame_with_bad_lcs_is_rejected() -> None:
    raw = bytearray(build_frame(0xD5, bytes(400)))
    raw[7] ^= 0x01
    with pytest.raises(FrameError, match="extended"):
        decode_frame(bytes(raw))


def test_stream_drops_a_corrupt_frame_and_finds_the_next_one() -> None:
    bad = bytearray(build_response(0x40, b"\x00" + bytes(16)))
    bad[-2] ^= 0x01
    good = build_response(0x40, b"\x00" + bytes(range(16)))
    stream = FrameStream()
    stream.feed(bytes(bad) + ACK + good)
    first = stream.next_frame()
    assert first is not None and first.kind is FrameKind.ACK
    assert stream.take_rejected() == 1
    second = stream.next_frame()
    assert second is not None and second.payload == b"\x00" + bytes(range(16))
    assert stream.next_frame() is None


def test_stream_assembles_a_frame_fed_byte_by_byte() -> None:
    raw = build_response(0x4A, bytes.fromhex("01010004080404A1B2C3"))
    stream = FrameStream()
    for i, b in enumerate(raw):
        stream.feed(bytes([b]))
        got = stream.next_frame()
        assert (got is None) == (i < len(raw) - 1)
    assert got is not None and got.payload == bytes.fromhex("01010004080404A1B2C3")


# --- property-based: random input, corrupted input --------------------------------------------------
def _assert_honest(buf: bytes) -> None:
    """Whatever decode_frame accepts must be exactly a valid encoding sitting in the buffer."""
    try:
        frame, n = decode_frame(buf)
    except FrameError as exc:
        assert 1 <= exc.skip <= len(buf)
        return
    assert 0 <= n <= len(buf)
    if frame is not None:
        raw = encode(frame)
        assert buf[n - len(raw):n] == raw


@given(st.binary(max_size=600))
def test_random_bytes_never_crash_the_parser(buf: bytes) -> None:
    _assert_honest(buf)


@given(st.binary(max_size=80), st.binary(max_size=80))
def test_random_bytes_after_a_start_code_never_crash_the_parser(prefix: bytes, rest: bytes) -> None:
    _assert_honest(prefix + b"\x00\x00\xff" + rest)


@given(st.sampled_from([0xD4, 0xD5]), st.binary(min_size=1, max_size=300), st.data())
def test_a_single_bit_flip_in_len_lcs_body_or_dcs_is_always_refused(tfi: int, data: bytes,
                                                                    draw: st.DataObject) -> None:
    raw = build_frame(tfi, data)
    pos = draw.draw(st.integers(3, len(raw) - 2))  # LEN (or the extended marker) .. DCS
    bit = draw.draw(st.integers(0, 7))
    bad = bytearray(raw)
    bad[pos] ^= 1 << bit
    with pytest.raises(FrameError):
        decode_frame(bytes(bad))


@given(st.integers(1, 65534), st.integers(0, 255))
def test_extended_frames_of_every_length_round_trip(length: int, fill: int) -> None:
    data = bytes([fill]) * length
    raw = build_frame(0xD5, data)
    frame, n = decode_frame(raw)
    assert frame is not None and frame.data == data and n == len(raw)
    assert frame.tfi == 0xD5


@given(st.binary(min_size=1, max_size=260), st.integers(1, 40))
def test_truncated_frames_are_never_accepted(data: bytes, cut: int) -> None:
    raw = build_frame(0xD4, data)
    cut = min(cut, len(raw) - 1)
    frame, _ = decode_frame(raw[:-cut])
    assert frame is None or frame.kind is FrameKind.ACK and raw[:6] == ACK


@given(st.binary(max_size=120), st.integers(0, 255), st.integers(0, 255))
def test_wrong_len_or_lcs_is_rejected(data: bytes, length: int, lcs: int) -> None:
    raw = bytearray(build_frame(0xD5, data or b"\x00"))
    if raw[3] == 0xFF:
        return
    raw[3], raw[4] = length, lcs
    try:
        frame, _ = decode_frame(bytes(raw))
    except FrameError:
        return
    if frame is not None and frame.kind is FrameKind.DATA:
        assert (length + lcs) & 0xFF == 0 and encode(frame) in bytes(raw)
