"""Bill-validator payloads: event buffer, counter arithmetic, bill ids, scaling, inhibit masks."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.cash import cctalk_bills as bills
from kiosk.ports import CashEventKind


def test_counter_wraps_from_255_to_1_never_0() -> None:
    assert bills.next_counter(254) == 255
    assert bills.next_counter(255) == 1
    assert bills.next_counter(0) == 1


def test_counter_back_skips_zero() -> None:
    assert bills.counter_back(3, 2) == 1
    assert bills.counter_back(1, 1) == 255
    assert bills.counter_back(2, 4) == 253


@pytest.mark.parametrize(("last", "current", "missed"), [
    (10, 10, 0), (10, 13, 3), (254, 2, 3), (0, 4, 4), (7, 0, 0), (255, 1, 1),
])
def test_events_between_counts_across_the_wrap(last: int, current: int, missed: int) -> None:
    assert bills.events_between(last, current) == missed


@given(st.integers(1, 255), st.integers(0, 254))
def test_events_between_inverts_counter_steps(start: int, steps: int) -> None:
    current = start
    for _ in range(steps):
        current = bills.next_counter(current)
    assert bills.events_between(start, current) == steps


def test_event_buffer_numbers_each_event_newest_first() -> None:
    data = bytes([2, 4, 0, 4, 1, 0, 0, 0, 0, 0, 0])
    counter, events = bills.parse_event_buffer(data)
    assert counter == 2
    assert events[0] == bills.RawBillEvent(2, 4, 0)  # type 4 credited
    assert events[1] == bills.RawBillEvent(1, 4, 1)  # type 4 was in escrow
    assert [e.counter for e in events] == [2, 1, 255, 254, 253]


def test_event_buffer_after_reset_has_no_events() -> None:
    assert bills.parse_event_buffer(bytes(11)) == (0, [])


def test_event_buffer_of_wrong_size_is_refused() -> None:
    with pytest.raises(ValueError):
        bills.parse_event_buffer(bytes(10))


def test_build_event_buffer_pads_to_five_slots() -> None:
    assert bills.build_event_buffer(9, [(0, 14), (3, 0)]) == bytes([9, 0, 14, 3, 0, 0, 0, 0, 0, 0, 0])


def test_status_codes_cover_jam_fraud_stacker_and_reject() -> None:
    kinds = {code: status.kind for code, status in bills.STATUS_CODES.items()}
    assert kinds[2] is CashEventKind.REJECTED
    assert kinds[6] is CashEventKind.JAM and kinds[7] is CashEventKind.JAM
    assert kinds[8] is CashEventKind.FRAUD and kinds[17] is CashEventKind.FRAUD
    assert kinds[11] is CashEventKind.STACKER_REMOVED
    assert kinds[12] is CashEventKind.STACKER_REPLACED
    assert kinds[14] is CashEventKind.STACKER_FULL
    assert kinds[1] is CashEventKind.RETURNED


def test_bill_id_parses_country_value_issue() -> None:
    bill = bills.parse_bill_id(b"CN0020A")
    assert bill == bills.BillId("CN", 20, "A") and bill.code == "CN0020A"


@pytest.mark.parametrize("raw", [b"\x00" * 7, b"......."," CN0000A".encode()[:7], b"CN00", b"CN0000A"])
def test_unused_bill_type_parses_as_none(raw: bytes) -> None:
    assert bills.parse_bill_id(raw) is None


@pytest.mark.parametrize(("scaling", "decimals", "fen"), [(1, 0, 2000), (100, 2, 2000), (10, 0, 20000)])
def test_bill_value_in_fen_applies_scaling_and_decimals(scaling: int, decimals: int, fen: int) -> None:
    assert bills.bill_value_fen(bills.BillId("CN", 20, "A"), scaling, decimals) == fen


def test_scaling_reply_is_lsb_first() -> None:
    assert bills.parse_scaling(bytes([0x64, 0x00, 0x02])) == (100, 2)


def test_inhibit_mask_sets_one_bit_per_enabled_type() -> None:
    assert bills.inhibit_mask({1, 3, 9}) == bytes([0b101, 0b1])
    assert bills.enabled_types(bytes([0b101, 0b1])) == {1, 3, 9}
    with pytest.raises(ValueError):
        bills.inhibit_mask({17})
