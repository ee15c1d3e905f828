"""Any 159 reply and any recorded counter decode to CashEvents only, numbered on the 1..255 cycle."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from devices.cash import cctalk_bills as bills
from devices.cash.cctalk_bill_validator import CctalkBillValidator
from kiosk.ports import CashEvent, CashEventKind


def decoder() -> CctalkBillValidator:
    validator = CctalkBillValidator("loop://")
    validator._values = {1: 100, 2: 500, 3: 1000, 4: 2000, 5: 5000, 6: 10000}
    return validator


@given(st.binary(min_size=11, max_size=11), st.integers(0, 255))
def test_any_event_buffer_decodes_to_cash_events(data: bytes, last: int) -> None:
    counter, raw = bills.parse_event_buffer(data)
    events = decoder()._new_events(last, counter, raw)
    assert all(isinstance(e, CashEvent) for e in events)
    assert len(events) <= bills.EVENT_SLOTS + 1
    if counter == 0:
        assert [e.kind for e in events] == ([] if last == 0 else [CashEventKind.RESET])
    for event in events:
        assert 0 <= event.counter <= 255
        if event.kind is CashEventKind.STACKED:
            assert event.value_fen in (100, 500, 1000, 2000, 5000, 10000, 0)


@given(st.integers(1, 255), st.lists(st.sampled_from([(4, 1), (4, 0), (0, 2), (0, 14)]), min_size=1, max_size=5))
def test_events_after_the_last_recorded_counter_are_exactly_the_new_ones(start: int, new: list) -> None:
    counter = start
    for _ in new:
        counter = bills.next_counter(counter)
    data = bills.build_event_buffer(counter, list(reversed(new)))
    got = decoder()._new_events(start, *bills.parse_event_buffer(data))
    assert len(got) == len(new)
    assert [e.counter for e in got] == [bills.counter_back(counter, len(new) - 1 - i) for i in range(len(new))]
