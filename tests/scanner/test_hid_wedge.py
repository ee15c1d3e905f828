"""A keyboard-wedge scanner: Linux input events (struct input_event bytes, as the kernel hands them to a reader of
/dev/input/eventN) back into the code, shift included, one scan per Enter.

This machine has no input subsystem (no /dev/input, no uinput), so the events go through a FIFO opened without
the grab; the bytes and the reading code are the ones a real event node gives."""
from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devices.scanner.driver import PaymentCodeScanner, Scan, Unreadable
from devices.scanner.hid_keys import (KEY_DOWN, KEY_ENTER, KEY_KPENTER, KEY_LEFTSHIFT, KEY_UP, KeyDecoder,
                                      encode_text, pack_events)
from devices.scanner.hid_source import HidScanSource, hid_support
from devices.scanner.registry import build_scanner, offered_kinds
from kiosk.domain.payment_code import Network
from kiosk.errors import DeviceUnavailable, DriverNotFound

WECHAT = "104567890123456789"


def _decode(events: list[tuple[int, int]]) -> list[str]:
    decoder = KeyDecoder()
    return [line for code, value in events if (line := decoder.feed(code, value)) is not None]


def test_key_presses_come_back_as_the_typed_text_with_shift() -> None:
    assert _decode(encode_text("Ab1!~?")) == ["Ab1!~?"]


def test_keypad_digits_and_the_keypad_enter_end_a_code() -> None:
    keypad = {"1": 79, "0": 82, "4": 75}
    events = [(keypad[ch], v) for ch in "104" for v in (KEY_DOWN, KEY_UP)] + [(KEY_KPENTER, KEY_DOWN)]
    assert _decode(events) == ["104"]


def test_auto_repeat_and_releases_type_nothing_and_shift_ends_on_release() -> None:
    events = [(KEY_LEFTSHIFT, KEY_DOWN), (30, KEY_DOWN), (30, 2), (30, KEY_UP), (KEY_LEFTSHIFT, KEY_UP),
              (30, KEY_DOWN), (KEY_ENTER, KEY_DOWN)]
    assert _decode(events) == ["Aa"]


def test_a_key_with_no_character_makes_the_line_unreadable() -> None:
    line = _decode([(2, KEY_DOWN), (59, KEY_DOWN), (KEY_ENTER, KEY_DOWN)])[0]  # "1", F1
    assert line.startswith("1") and len(line) == 2 and not line.isdigit()


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[tuple[str, int]]:
    path = str(tmp_path / "event-kbd")
    os.mkfifo(path)
    writer = os.open(path, os.O_RDWR)  # holds the FIFO open, as the kernel holds an event node
    yield path, writer
    try:
        os.close(writer)
    except OSError:
        pass


def test_a_wedge_scan_through_an_event_stream_is_a_payment_code(fifo: tuple[str, int]) -> None:
    path, writer = fifo
    scanner = PaymentCodeScanner(HidScanSource(path, grab=False))
    scanner.open()
    try:
        scanner.arm()
        data = pack_events(encode_text(WECHAT) + encode_text("28x"))  # a good code, then a garbled one
        os.write(writer, data[:37])  # a partial event first: the reader keeps the remainder
        time.sleep(0.05)
        os.write(writer, data[37:])
        assert scanner.poll(2.0) == Scan(WECHAT, Network.WECHAT)
        scanner.arm()
        os.write(writer, pack_events(encode_text("28x")))
        assert isinstance(scanner.poll(2.0), Unreadable)
    finally:
        scanner.close()


def test_an_event_stream_that_ends_is_the_scanner_unplugged(fifo: tuple[str, int]) -> None:
    path, writer = fifo
    source = HidScanSource(path, grab=False)
    source.open()
    try:
        os.close(writer)
        with pytest.raises(DeviceUnavailable, match="gone"):
            source.read_line(time.monotonic() + 1)
    finally:
        source.close()


def test_a_file_that_is_not_an_event_node_is_refused_when_grabbed(tmp_path: Path) -> None:
    plain = tmp_path / "not-a-device"
    plain.write_bytes(b"")
    with pytest.raises(DeviceUnavailable, match="not an input event device"):
        HidScanSource(str(plain)).open()


def test_a_missing_event_node_is_unavailable() -> None:
    with pytest.raises(DeviceUnavailable, match="cannot open"):
        HidScanSource("/dev/input/by-id/no-such-scanner-event-kbd").open()


def test_the_hid_kind_is_offered_exactly_where_input_events_can_be_read() -> None:
    why = hid_support()
    assert offered_kinds() == {"serial": "", "hid": why}
    if why:  # here: no /dev/input, said in one line
        with pytest.raises(DriverNotFound, match="not offered"):
            build_scanner("hid", "/dev/input/event0")
    else:
        assert build_scanner("hid", "/dev/input/event0").source.kind == "hid"


def test_an_unknown_kind_names_the_setting() -> None:
    with pytest.raises(DriverNotFound) as caught:
        build_scanner("usb-pos", "/dev/ttyACM0")
    assert caught.value.params["key"] == "devices.scanner.kind"
