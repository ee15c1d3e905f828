"""Key presses of a USB HID keyboard-wedge scanner (Linux input events) back into the text it "typed".

Codes are linux/input-event-codes.h; a scan ends at KEY_ENTER (or the keypad's). Pure: no evdev, no Kivy.
"""
from __future__ import annotations

import struct

EV_KEY = 1
KEY_UP, KEY_DOWN, KEY_REPEAT = 0, 1, 2
KEY_ENTER, KEY_KPENTER = 28, 96
KEY_LEFTSHIFT, KEY_RIGHTSHIFT = 42, 54
SHIFTS = frozenset({KEY_LEFTSHIFT, KEY_RIGHTSHIFT})

# struct input_event on 64-bit Linux: struct timeval (two longs), __u16 type, __u16 code, __s32 value.
INPUT_EVENT = struct.Struct("llHHi")

_ROWS = {2: "1234567890-=", 16: "qwertyuiop[]", 30: "asdfghjkl;'`", 44: "zxcvbnm,./"}
_SHIFTED = {2: "!@#$%^&*()_+", 16: "QWERTYUIOP{}", 30: 'ASDFGHJKL:"~', 44: "ZXCVBNM<>?"}
PLAIN: dict[int, str] = {start + i: ch for start, row in _ROWS.items() for i, ch in enumerate(row)}
SHIFTED: dict[int, str] = {start + i: ch for start, row in _SHIFTED.items() for i, ch in enumerate(row)}
PLAIN[43], SHIFTED[43] = "\\", "|"
PLAIN[57] = SHIFTED[57] = " "
_KEYPAD = {71: "7", 72: "8", 73: "9", 74: "-", 75: "4", 76: "5", 77: "6", 78: "+", 79: "1", 80: "2", 81: "3",
           82: "0", 83: ".", 55: "*", 98: "/"}
PLAIN.update(_KEYPAD)
SHIFTED.update({code: ch for code, ch in _KEYPAD.items() if code not in SHIFTED})
UNKNOWN = "\ufffd"  # a key with no character: the line is garbled, the driver refuses it


class KeyDecoder:
    """Feed (code, value) of EV_KEY events; `feed` returns the finished line at KEY_ENTER, else None."""

    def __init__(self) -> None:
        self._chars: list[str] = []
        self._shift: set[int] = set()

    def reset(self) -> None:
        self._chars.clear()
        self._shift.clear()

    def feed(self, code: int, value: int) -> str | None:
        if code in SHIFTS:
            if value == KEY_UP:
                self._shift.discard(code)
            else:
                self._shift.add(code)
            return None
        if value != KEY_DOWN:  # releases and auto-repeat type nothing
            return None
        if code in (KEY_ENTER, KEY_KPENTER):
            line, self._chars = "".join(self._chars), []
            return line
        table = SHIFTED if self._shift else PLAIN
        self._chars.append(table.get(code, UNKNOWN))
        return None


def encode_text(text: str, *, enter: bool = True) -> list[tuple[int, int]]:
    """The (code, value) presses a keyboard wedge sends for `text` (what the simulator and tests type)."""
    reverse_plain = {ch: code for code, ch in PLAIN.items() if code not in _KEYPAD}
    reverse_shift = {ch: code for code, ch in SHIFTED.items() if code not in _KEYPAD}
    events: list[tuple[int, int]] = []
    for ch in text:
        if ch in reverse_plain:
            events += [(reverse_plain[ch], KEY_DOWN), (reverse_plain[ch], KEY_UP)]
        elif ch in reverse_shift:
            code = reverse_shift[ch]
            events += [(KEY_LEFTSHIFT, KEY_DOWN), (code, KEY_DOWN), (code, KEY_UP), (KEY_LEFTSHIFT, KEY_UP)]
        else:
            raise ValueError(f"a keyboard wedge cannot type {ch!r}")
    if enter:
        events += [(KEY_ENTER, KEY_DOWN), (KEY_ENTER, KEY_UP)]
    return events


def pack_events(events: list[tuple[int, int]]) -> bytes:
    """The bytes the kernel hands a reader of /dev/input/eventN for these key events."""
    return b"".join(INPUT_EVENT.pack(0, 0, EV_KEY, code, value) for code, value in events)
