"""CashSession rules against the in-process fake acceptor: notice, sensible notes, overpay, cancel, faults."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.payments.cash_session import (
    MSG_CANCELLED_WITH_CREDIT,
    MSG_CONFIRM_OVERPAY,
    MSG_FAULT,
    MSG_NOTE_REFUSED,
    MSG_NOTE_REJECTED,
    NOTICE_NO_CHANGE,
    REASON_JAM,
    REASON_RECORDING,
    REASON_STACKER_FULL,
    CashSession,
    CashState,
    OverpayPolicy,
    acceptable_notes,
)
from tests.support.fakes.payments import FakeCashAcceptor
from kiosk.ports import CashEventKind

from .conftest import CounterLedger

NOTES = [100, 500, 1000, 2000, 5000, 10000]


def feed(session: CashSession, acceptor: FakeCashAcceptor, value: int) -> None:
    assert acceptor.insert_note(value) == "escrow"
    session.poll_once()  # escrow -> decision
    session.poll_once()  # stacked (or returned)


@pytest.fixture
def acceptor() -> FakeCashAcceptor:
    return FakeCashAcceptor()


@pytest.fixture
def ledger() -> CounterLedger:
    return CounterLedger()


def test_notice_is_shown_before_anything_is_enabled(acceptor: FakeCashAcceptor, ledger: CounterLedger) -> None:
    session = CashSession(acceptor, 3500, ledger.record)
    view = session.view()
    assert view.state is CashState.NOTICE and view.notice == NOTICE_NO_CHANGE
    assert acceptor.enabled == set() and view.enabled_fen == ()
    assert acceptor.insert_note(2000) == "rejected"


def test_sensible_notes_are_those_below_due_plus_the_smallest_covering_one() -> None:
    assert acceptable_notes(NOTES, 3500) == {100, 500, 1000, 2000, 5000}
    assert acceptable_notes(NOTES, 300) == {100, 500}
    assert acceptable_notes(NOTES, 2000) == {100, 500, 1000, 2000}
    assert acceptable_notes(NOTES, 50000) == set(NOTES)
    assert acceptable_notes(NOTES, 0) == set()
    assert acceptable_notes(NOTES, 300, max_excess_fen=1000) == {100, 500, 1000}


@given(st.integers(1, 100_000), st.integers(0, 10_000))
def test_a_sensible_note_never_overpays_by_a_whole_smaller_note(remaining: int, max_excess: int) -> None:
    for note in acceptable_notes(NOTES, remaining, max_excess):
        excess = note - remaining
        smaller_covering = [v for v in NOTES if remaining <= v < note]
        assert excess <= max_excess or not smaller_covering


def test_exact_payment_stacks_and_disables(acceptor: FakeCashAcceptor, ledger: CounterLedger) -> None:
    session = CashSession(acceptor, 3000, ledger.record, overpay=OverpayPolicy.REFUSE)
    session.start()
    assert set(session.view().enabled_fen) == {100, 500, 1000, 2000, 5000}
    feed(session, acceptor, 2000)
    view = session.view()
    assert view.inserted_fen == 2000 and view.remaining_fen == 1000
    assert set(view.enabled_fen) == {100, 500, 1000}
    feed(session, acceptor, 1000)
    view = session.view()
    assert view.state is CashState.PAID and view.credit_fen == 0
    assert acceptor.enabled == set()
    assert ledger.entries == [2000, 1000] and acceptor.stacked_fen == 3000


def test_total_reached_disables_before_the_note_is_stacked(acceptor: FakeCashAcceptor, ledger: CounterLedger) -> None:
    session = CashSession(acceptor, 1000, ledger.record)
    session.start()
    acceptor.insert_note(1000)
    session.poll_once()  # routed to the box: nothing else may be inserted now
    assert acceptor.enabled == set()
    assert session.view().state is CashState.ACCEPTING
    session.poll_once()
    assert session.view().state is CashState.PAID


def test_overpay_with_covering_note_is_credited(acceptor: FakeCashAcceptor, ledger: CounterLedger) -> None:
    session = CashSession(acceptor, 3500, ledger.record, overpay=OverpayPolicy.REFUSE)
    session.start()
    feed(session, acceptor, 5000)
    view = session.view()
    assert view.state is CashState.PAID and view.credit_fen == 1500
    assert dict(view.params)["credit"] == 1500


def test_refuse_policy_never_enables_a_needless_big_note(acceptor: FakeCashAcceptor, ledger: CounterLedger) -> None:
    session = CashSession(acceptor, 300, ledger.record, overpay=OverpayPolicy.REFUSE)
    session.start()
    assert acceptor.insert_note(10000) == "rejected"
    session.poll_once()
    assert session.view().message == MSG_NOTE_REJECTED


def test_refuse_policy_returns_a_needless_note_that_got_into_escrow(acceptor: FakeCashAcceptor, ledger: CounterLedger) -> None:
    session = CashSession(acceptor, 300, ledger.record, overpay=OverpayPolicy.REFUSE)
    session.start()
    acceptor.enable([10000])  # e.g. the device applied an old mask
    acceptor.insert_note(10000)
    session.poll_once()
    assert acceptor.escrow is None and session.view().message == MSG_NOTE_REFUSED
    assert ledger.entries == []


def test_ask_policy_holds_big_note_until_the_person_agrees(acceptor: FakeCashAcceptor, ledger: CounterLedger) -> None:
    session = CashSession(acceptor, 300, ledger.record, overpay=OverpayPolicy.ASK)
    session.start()
    acceptor.insert_note(10000)
    view = session.poll_once()
    assert view.state is CashState.CONFIRM_OVERPAY and view.message == MSG_CONFIRM_OVERPAY
    assert dict(view.params)["excess"] == 9700 and view.escrow_fen == 10000
    session.accept_overpay()
    session.poll_once()
    view = session.view()
    assert view.state is CashState.PAID and view.credit_fen == 9700 and ledger.entries == [10000]


def test_ask_policy_declined_returns_the_note(acceptor: FakeCashAcceptor, ledger: CounterLedger) -> None:
    session = CashSession(acceptor, 300, ledger.record, overpay=OverpayPolicy.ASK)
    session.start()
    acceptor.insert_note(10000)
    session.poll_once()
    session.decline_overpay()
    session.poll_once()
    assert session.view().state is CashState.ACCEPTING and acceptor.stacked_fen == 0


def test_consent_times_out_to_a_return(acceptor: FakeCashAcceptor, ledger: CounterLedger) -> None:
    now = [0.0]
    session = CashSession(acceptor, 300, ledger.record, consent_timeout_s=10, clock=lambda: now[0])
    session.start()
    acceptor.insert_note(5000)
    session.poll_once()
    now[0] = 9.0
    assert session.poll_once().state is CashState.CONFIRM_OVERPAY
    now[0] = 10.5
    assert session.poll_once().state is CashState.ACCEPTING
    assert acceptor.escrow is None


def test_cancel_returns_escrow_and_keeps_stacked_money_as_credit(acceptor: FakeCashAcceptor, ledger: CounterLedger) -> None:
    session = CashSession(acceptor, 5000, ledger.record)
    session.start()
    feed(session, acceptor, 2000)
    acceptor.insert_note(1000)  # in escrow; the session has not polled it yet
    session.cancel()
    view = session.poll_once()
    assert view.state is CashState.CANCELLED
    assert view.credit_fen == 2000 and view.message == MSG_CANCELLED_WITH_CREDIT
    assert acceptor.stacked_fen == 2000 and acceptor.enabled == set()


def test_cancel_while_a_note_is_moving_waits_for_it(acceptor: FakeCashAcceptor, ledger: CounterLedger) -> None:
    session = CashSession(acceptor, 5000, ledger.record)
    session.start()
    acceptor.insert_note(2000)
    session.poll_once()  # routed to the box
    assert session.cancel().state is CashState.CANCELLING
    view = session.poll_once()
    assert view.state is CashState.CANCELLED and view.credit_fen == 2000 and ledger.entries == [2000]


def test_cancel_before_start_touches_nothing(acceptor: FakeCashAcceptor, ledger: CounterLedger) -> None:
    session = CashSession(acceptor, 5000, ledger.record)
    assert session.cancel().state is CashState.CANCELLED


def test_rejected_note_keeps_accepting_with_a_message(acceptor: FakeCashAcceptor, ledger: CounterLedger) -> None:
    session = CashSession(acceptor, 5000, ledger.record)
    session.start()
    acceptor.fault(CashEventKind.REJECTED, "invalid bill")
    view = session.poll_once()
    assert view.state is CashState.ACCEPTING and view.message == MSG_NOTE_REJECTED


@pytest.mark.parametrize(("kind", "reason"), [(CashEventKind.JAM, REASON_JAM),
                                              (CashEventKind.STACKER_FULL, REASON_STACKER_FULL)])
def test_jam_and_full_stacker_end_in_fault_with_credit(acceptor: FakeCashAcceptor, ledger: CounterLedger,
                                                       kind: CashEventKind, reason: str) -> None:
    session = CashSession(acceptor, 5000, ledger.record)
    session.start()
    feed(session, acceptor, 1000)
    acceptor.fault(kind)
    view = session.poll_once()
    assert view.state is CashState.FAULT and view.message == MSG_FAULT
    assert dict(view.params)["reason"] == reason and view.credit_fen == 1000
    assert acceptor.enabled == set()


def test_device_not_answering_is_a_fault(acceptor: FakeCashAcceptor, ledger: CounterLedger) -> None:
    session = CashSession(acceptor, 5000, ledger.record)
    session.start()
    acceptor.fail_polls = 1
    assert session.poll_once().state is CashState.FAULT


def test_reset_mid_session_re_enables_acceptance(acceptor: FakeCashAcceptor, ledger: CounterLedger) -> None:
    session = CashSession(acceptor, 5000, ledger.record)
    session.start()
    acceptor.power_cycle()
    assert session.poll_once().state is CashState.ACCEPTING
    assert acceptor.enabled == set(NOTES)


def test_note_landing_after_a_fault_is_still_credited(acceptor: FakeCashAcceptor, ledger: CounterLedger) -> None:
    session = CashSession(acceptor, 5000, ledger.record)
    session.start()
    acceptor.insert_note(2000)
    session.poll_once()  # routed
    acceptor.fault(CashEventKind.FRAUD)  # the alarm comes in the same poll as the moving note's STACKED
    view = session.poll_once()
    assert view.state is CashState.FAULT and ledger.entries == [2000] and view.credit_fen == 2000


def test_failed_ledger_write_faults_and_the_note_is_found_by_events_since(acceptor: FakeCashAcceptor,
                                                                          ledger: CounterLedger) -> None:
    session = CashSession(acceptor, 5000, ledger.record)
    session.start()
    feed(session, acceptor, 1000)
    ledger.fail_next = True
    acceptor.insert_note(2000)
    session.poll_once()
    with pytest.raises(RuntimeError):
        session.poll_once()
    assert session.view().state is CashState.FAULT
    assert dict(session.view().params)["reason"] == REASON_RECORDING
    recovered = [e for e in acceptor.events_since(ledger.last_counter) if e.kind is CashEventKind.STACKED]
    for event in recovered:
        ledger.record(event)
    assert ledger.entries == [1000, 2000]


def test_amount_due_must_be_positive_integer_fen(acceptor: FakeCashAcceptor, ledger: CounterLedger) -> None:
    for bad in (0, -5, 10.0, True):
        with pytest.raises(ValueError):
            CashSession(acceptor, bad, ledger.record)  # type: ignore[arg-type]


def test_views_are_published_on_change(acceptor: FakeCashAcceptor, ledger: CounterLedger) -> None:
    seen = []
    session = CashSession(acceptor, 1000, ledger.record, on_change=seen.append)
    session.start()
    feed(session, acceptor, 1000)
    assert [v.state for v in seen][0] is CashState.ACCEPTING and seen[-1].state is CashState.PAID


def test_route_refused_by_the_device_is_a_fault_and_the_note_goes_back(acceptor: FakeCashAcceptor,
                                                                       ledger: CounterLedger) -> None:
    session = CashSession(acceptor, 5000, ledger.record)
    session.start()
    acceptor.fail_route = True
    acceptor.insert_note(2000)
    view = session.poll_once()
    assert view.state is CashState.FAULT and acceptor.escrow is None and ledger.entries == []
