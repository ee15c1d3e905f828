"""CashSession on the real ccTalk driver and the pty simulator: the journeys and the restart that loses nothing."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from devices.cash.cctalk_bill_validator import CctalkBillValidator
from devices.sim.cctalk_sim import SimBillValidator
from kiosk.payments.cash_session import CashSession, CashState, CashView, OverpayPolicy
from kiosk.ports import CashEventKind

from .conftest import CounterLedger


@pytest.fixture
def sim() -> Iterator[SimBillValidator]:
    with SimBillValidator() as device:
        yield device


@pytest.fixture
def validator(sim: SimBillValidator) -> Iterator[CctalkBillValidator]:
    with CctalkBillValidator(sim.path, timeout_s=0.2) as driver:
        yield driver


def poll_until(session: CashSession, done: Callable[[CashView], bool], timeout: float = 3.0) -> CashView:
    deadline = time.monotonic() + timeout
    view = session.poll_once()
    while not done(view):
        assert time.monotonic() < deadline, f"stuck in {view.state}"
        view = session.poll_once()
    return view


def insert(sim: SimBillValidator, session: CashSession, yuan: int) -> CashView:
    stacked_before = len(session.stacked)
    assert sim.insert_note(yuan) == "escrow"
    return poll_until(session, lambda v: len(session.stacked) > stacked_before or v.state is not CashState.ACCEPTING)


def test_exact_payment_on_the_wire(sim: SimBillValidator, validator: CctalkBillValidator) -> None:
    ledger = CounterLedger()
    session = CashSession(validator, 7000, ledger.record, overpay=OverpayPolicy.REFUSE)
    session.start()
    assert sim.master_enabled and {sim.bills_yuan[t] for t in sim.enabled_types} == {1, 5, 10, 20, 50, 100}
    insert(sim, session, 50)
    assert {sim.bills_yuan[t] for t in sim.enabled_types} == {1, 5, 10, 20}
    view = insert(sim, session, 20)
    assert view.state is CashState.PAID and view.credit_fen == 0
    assert not sim.master_enabled and sim.stacked_fen == 7000 and ledger.total == 7000


def test_overpay_after_consent_on_the_wire(sim: SimBillValidator, validator: CctalkBillValidator) -> None:
    ledger = CounterLedger()
    session = CashSession(validator, 300, ledger.record, overpay=OverpayPolicy.ASK)
    session.start()
    sim.insert_note(100)
    view = poll_until(session, lambda v: v.state is CashState.CONFIRM_OVERPAY)
    assert view.escrow_fen == 10000 and sim.escrow is not None
    session.accept_overpay()
    view = poll_until(session, lambda v: v.state is CashState.PAID)
    assert view.credit_fen == 9700 and ledger.entries == [10000] and sim.stacked_fen == 10000


def test_cancel_midway_returns_escrow_and_credits_stacked(sim: SimBillValidator, validator: CctalkBillValidator) -> None:
    ledger = CounterLedger()
    session = CashSession(validator, 10000, ledger.record, overpay=OverpayPolicy.ASK)
    session.start()
    insert(sim, session, 20)
    assert sim.insert_note(50) == "escrow"
    view = session.cancel()
    view = poll_until(session, lambda v: v.state is CashState.CANCELLED)
    assert view.credit_fen == 2000 and ledger.total == 2000
    assert sim.stacked_fen == 2000 and sim.escrow is None and not sim.master_enabled
    assert sim.events[0] == (0, 1)  # the 50 came back out: "bill returned from escrow"


@pytest.mark.parametrize(("fault", "kind"), [("jam", CashState.FAULT), ("full", CashState.FAULT)])
def test_jam_and_full_stacker_on_the_wire(sim: SimBillValidator, validator: CctalkBillValidator,
                                          fault: str, kind: CashState) -> None:
    ledger = CounterLedger()
    session = CashSession(validator, 10000, ledger.record)
    session.start()
    insert(sim, session, 10)
    sim.execute(fault)
    view = poll_until(session, lambda v: v.finished)
    assert view.state is kind and view.credit_fen == 1000 and not sim.master_enabled


def test_kiosk_killed_between_stack_and_ledger_credits_once_on_restart(sim: SimBillValidator) -> None:
    ledger = CounterLedger()
    first = CctalkBillValidator(sim.path, timeout_s=0.2)
    first.open()
    session = CashSession(first, 5000, ledger.record)
    session.start()
    insert(sim, session, 10)  # recorded: ledger.last_counter is its STACKED counter
    sim.insert_note(20)
    poll_until(session, lambda v: sim.escrow is None)  # routed to the box ...
    first.close()  # ... and the kiosk dies before polling the STACKED event
    assert ledger.total == 1000 and sim.stacked_fen == 3000

    for _restart in range(2):  # restarting twice must not credit twice
        second = CctalkBillValidator(sim.path, timeout_s=0.2)
        second.open()
        for event in second.events_since(ledger.last_counter):
            if event.kind is CashEventKind.STACKED:
                ledger.record(event)
        second.close()
    assert ledger.entries == [1000, 2000] and ledger.total == sim.stacked_fen


def test_settlement_matches_the_cash_box(sim: SimBillValidator, validator: CctalkBillValidator) -> None:
    ledger = CounterLedger()
    for due, notes in ((3000, [20, 10]), (500, [5]), (12000, [100, 20])):
        session = CashSession(validator, due, ledger.record)
        session.start()
        for yuan in notes:
            insert(sim, session, yuan)
        assert session.view().state is CashState.PAID
    assert ledger.total == sim.stacked_fen == 15500
    assert sorted(sim.bills_yuan[t] for t in sim.empty_cash_box()) == [5, 10, 20, 20, 100]
