"""Pure ccTalk bill-validator payloads: event buffer (159), bill ids (157), scaling (156), counters.

Read buffered bill events answers ``counter, A1, B1, ..., A5, B5``: newest event first. A bill
type in A (1..) with B = 0 means the bill was credited (stacked), B = 1 that it is held in
escrow. A = 0 carries a status / error code in B (the table below). The counter counts events
1..255 and wraps to 1; 0 only after power-up or reset.
"""
from __future__ import annotations

from dataclasses import dataclass

from kiosk.ports import CashEventKind

EVENT_SLOTS = 5
COUNTER_MAX = 255


@dataclass(frozen=True)
class StatusCode:
    kind: CashEventKind | None  # None: informational only, not reported as an event
    text: str


# Result B when result A is 0 (ccTalk generic spec, "bill validator event codes").
STATUS_CODES: dict[int, StatusCode] = {
    0: StatusCode(None, "master inhibit active"),
    1: StatusCode(CashEventKind.RETURNED, "bill returned from escrow"),
    2: StatusCode(CashEventKind.REJECTED, "invalid bill (validation fail)"),
    3: StatusCode(CashEventKind.REJECTED, "invalid bill (transport problem)"),
    4: StatusCode(CashEventKind.REJECTED, "inhibited bill (serial)"),
    5: StatusCode(CashEventKind.REJECTED, "inhibited bill (DIP switches)"),
    6: StatusCode(CashEventKind.JAM, "bill jammed in transport (unsafe mode)"),
    7: StatusCode(CashEventKind.JAM, "bill jammed in stacker"),
    8: StatusCode(CashEventKind.FRAUD, "bill pulled backwards"),
    9: StatusCode(CashEventKind.FRAUD, "bill tamper"),
    10: StatusCode(None, "stacker OK"),
    11: StatusCode(CashEventKind.STACKER_REMOVED, "stacker removed"),
    12: StatusCode(CashEventKind.STACKER_REPLACED, "stacker inserted"),
    13: StatusCode(CashEventKind.ERROR, "stacker faulty"),
    14: StatusCode(CashEventKind.STACKER_FULL, "stacker full"),
    15: StatusCode(CashEventKind.JAM, "stacker jammed"),
    16: StatusCode(CashEventKind.JAM, "bill jammed in transport (safe mode)"),
    17: StatusCode(CashEventKind.FRAUD, "opto fraud detected"),
    18: StatusCode(CashEventKind.FRAUD, "string fraud detected"),
    19: StatusCode(CashEventKind.ERROR, "anti-string mechanism faulty"),
    20: StatusCode(CashEventKind.REJECTED, "barcode detected"),
    21: StatusCode(CashEventKind.ERROR, "unknown bill type stacked"),
}

# Reverse lookup the simulator uses to raise a fault by name.
STATUS_BY_NAME: dict[str, int] = {
    "returned": 1, "reject": 2, "reject_transport": 3, "inhibited": 4, "jam": 6,
    "jam_stacker": 7, "fraud": 8, "tamper": 9, "stacker_ok": 10, "stacker_removed": 11,
    "stacker_inserted": 12, "stacker_faulty": 13, "stacker_full": 14, "stacker_jammed": 15,
    "opto_fraud": 17, "string_fraud": 18,
}

ROUTE_RETURN = 0
ROUTE_STACK = 1
ROUTE_ERROR_ESCROW_EMPTY = 254
ROUTE_ERROR_FAILED = 255


@dataclass(frozen=True)
class RawBillEvent:
    counter: int
    result_a: int
    result_b: int


@dataclass(frozen=True)
class BillId:
    """A bill type's identity from header 157, e.g. 'CN0010A': country, value, issue."""

    country: str
    value: int
    issue: str

    @property
    def code(self) -> str:
        return f"{self.country}{self.value:04d}{self.issue}"


def next_counter(counter: int) -> int:
    """The counter after `counter`: 1..255 then 1 again (0 only after a reset)."""
    return 1 if counter >= COUNTER_MAX else counter + 1


def counter_back(counter: int, steps: int) -> int:
    """The counter `steps` events before `counter` on the 1..255 cycle."""
    return (counter - 1 - steps) % COUNTER_MAX + 1


def events_between(last: int, current: int) -> int:
    """How many events happened after counter `last` up to `current` (0..254).

    `last` = 0 means "nothing seen since a reset": every event up to `current` is new.
    Beyond 254 missed events the count is ambiguous; the caller sees at most 5 anyway.
    """
    if current == 0:
        return 0
    if last == 0:
        return current
    return (current - last) % COUNTER_MAX


def parse_event_buffer(data: bytes) -> tuple[int, list[RawBillEvent]]:
    """Decode a 159 reply into (counter, events newest first, each with its own counter)."""
    if len(data) != 1 + 2 * EVENT_SLOTS:
        raise ValueError(f"bill event buffer must be 11 bytes, got {len(data)}")
    counter = data[0]
    events = []
    if counter:
        for i in range(EVENT_SLOTS):
            events.append(RawBillEvent(counter_back(counter, i), data[1 + 2 * i], data[2 + 2 * i]))
    return counter, events


def build_event_buffer(counter: int, newest_first: list[tuple[int, int]]) -> bytes:
    """The 159 reply for a counter and up to five (A, B) pairs, newest first (simulator side)."""
    pairs = list(newest_first[:EVENT_SLOTS])
    pairs += [(0, 0)] * (EVENT_SLOTS - len(pairs))
    return bytes([counter] + [b for pair in pairs for b in pair])


def parse_bill_id(data: bytes) -> BillId | None:
    """Decode a 157 reply; None for an unused bill type (zeros, blanks or dots)."""
    text = data.decode("ascii", errors="replace")
    if len(text) != 7 or not text[2:6].isdigit() or not text[:2].isalpha():
        return None
    value = int(text[2:6])
    if value == 0:
        return None
    return BillId(text[:2].upper(), value, text[6])


def bill_value_fen(bill: BillId, scaling: int, decimals: int) -> int:
    """A bill's value in fen: id value x scaling factor / 10^decimals, in yuan, x 100."""
    numerator = bill.value * scaling * 100
    return numerator // (10 ** decimals)


def parse_scaling(data: bytes) -> tuple[int, int]:
    """Decode a 156 reply: (scaling factor, decimal places)."""
    if len(data) != 3:
        raise ValueError(f"scaling reply must be 3 bytes, got {len(data)}")
    return data[0] | (data[1] << 8), data[2]


def inhibit_mask(bill_types: set[int] | frozenset[int]) -> bytes:
    """The two-byte 231 payload: bit n-1 set = bill type n enabled (LSB first)."""
    mask = 0
    for bill_type in bill_types:
        if not 1 <= bill_type <= 16:
            raise ValueError(f"bill type must be 1..16, got {bill_type}")
        mask |= 1 << (bill_type - 1)
    return bytes((mask & 0xFF, mask >> 8))


def enabled_types(mask: bytes) -> set[int]:
    value = int.from_bytes(mask[:2].ljust(2, b"\x00"), "little")
    return {i + 1 for i in range(16) if value & (1 << i)}
