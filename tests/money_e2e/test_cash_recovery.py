"""Start-up recovery of banknotes on the wire: first start, notes stacked while down, power-up (counter 0), wrap,
and a collector that drives the acceptor through its DeviceSupervisor worker."""
from __future__ import annotations

from sqlalchemy import select

from kiosk.domain.terms import PaymentMethod, PaymentStatus
from kiosk.payments.cash_collector import CashCollector, CreditedNote
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import AuditEntry, CashEventRecord, DeviceEvent
from kiosk.runtime import DeviceSupervisor, DeviceWorker, EventBus
from kiosk.services import payments

from .conftest import Screen, feed_notes


def stack_while_down(validator, cash_sim, *yuan):
    """Notes that reach the box while no kiosk software records them (as after a crash)."""
    validator.enable([y * 100 for y in yuan])
    for y in yuan:
        result = cash_sim.insert_note(y)
        if result == "escrow":
            validator.stack_escrow()
        else:
            assert result == "stacked"
    validator.disable()


def suspense(factory, mini):
    with unit_of_work(factory) as s:
        return payments.unattributed_cash_fen(s, mini.till.kiosk_id)


def kinds(factory):
    with unit_of_work(factory) as s:
        return [(r.kind, r.counter, r.value_fen) for r in s.scalars(select(CashEventRecord).order_by(CashEventRecord.id))]


def test_first_start_adopts_the_device_counter_and_credits_nothing_from_before(factory, mini, validator, cash_sim):
    stack_while_down(validator, cash_sim, 10, 20)  # the validator's history from the factory test bench
    collector = CashCollector(validator, factory, mini.till)
    assert collector.recover() == []
    assert kinds(factory) == [("baseline", cash_sim.counter, 0)] and suspense(factory, mini) == 0


def test_notes_stacked_while_no_session_was_open_go_to_suspense_once(factory, mini, cash, validator, cash_sim):
    stack_while_down(validator, cash_sim, 20, 50)
    credited = cash.recover()
    assert [(n.value_fen, n.payment_id) for n in credited] == [(2000, None), (5000, None)]
    assert cash.recover() == [] and suspense(factory, mini) == 7000
    with unit_of_work(factory) as s:
        assert len(s.scalars(select(AuditEntry).where(AuditEntry.action == "cash.unattributed")).all()) == 2


def test_power_up_while_down_is_reported_for_staff_and_later_notes_count_from_zero(factory, mini, cash, validator,
                                                                                      cash_sim):
    stack_while_down(validator, cash_sim, 5)
    assert len(cash.recover()) == 1
    cash_sim.power_cycle()  # counter 0: the device forgot everything
    assert cash.recover() == []
    assert kinds(factory)[-1] == ("reset", 0, 0)
    stack_while_down(validator, cash_sim, 10, 10)  # after the power-up: counters 1, 2
    assert [(n.counter, n.value_fen) for n in cash.recover()] == [(1, 1000), (2, 1000)]
    assert cash.recover() == [] and suspense(factory, mini) == 500 + 2000
    with unit_of_work(factory) as s:
        assert [e.kind for e in s.scalars(select(DeviceEvent))] == ["reset"]


def test_power_up_and_notes_while_down_credits_the_notes_and_warns_of_lost_events(factory, mini, cash, validator,
                                                                                     cash_sim):
    stack_while_down(validator, cash_sim, 1, 1, 1)
    cash.recover()
    cash_sim.power_cycle()
    stack_while_down(validator, cash_sim, 20)
    assert [(n.counter, n.value_fen) for n in cash.recover()] == [(1, 2000)]
    assert "events_lost" in [k for k, _, _ in kinds(factory)]
    assert cash.recover() == []


def test_counter_wrap_from_255_to_1_loses_and_doubles_nothing(factory, mini, validator, cash_sim):
    cash_sim.counter = 252  # a validator that has been in service a while
    cash = CashCollector(validator, factory, mini.till)
    assert cash.recover() == []  # adopts 252
    stack_while_down(validator, cash_sim, 1)  # escrow 253, stacked 254
    assert [n.counter for n in cash.recover()] == [254]
    stack_while_down(validator, cash_sim, 5, 10)  # escrow 255, stacked 1 (0 is never reused), escrow 2, stacked 3
    assert [(n.counter, n.value_fen) for n in cash.recover()] == [(1, 500), (3, 1000)]
    assert cash.recover() == [] and suspense(factory, mini) == 100 + 1500


def test_collector_drives_the_acceptor_on_its_supervised_worker(factory, mini, cash_sim):
    from devices.cash.cctalk_bill_validator import CctalkBillValidator

    bus = EventBus()
    supervisor = DeviceSupervisor(DeviceWorker("cash", CctalkBillValidator(cash_sim.path, timeout_s=0.3)), bus)
    supervisor.start()
    try:
        assert supervisor.wait_available(5)
        collector = CashCollector(supervisor, factory, mini.till, poll_interval_s=0.05)
        assert collector.recover() == []
        screen = Screen()
        feed_notes(screen, cash_sim, 50, 50)
        hh = mini.household_ids[1]
        out = payments.pay_bills(factory, mini.till, key="sup", household_id=hh, bill_ids=mini.bill_ids[hh][:1],
                                 method=PaymentMethod.CASH, language="en",
                                 move_money=collector.as_move_money(screen.control))
        assert out.status is PaymentStatus.SUCCEEDED and cash_sim.stacked_fen == 10_000
    finally:
        supervisor.stop()


def test_recovered_note_goes_to_the_payment_whose_session_was_open(factory, mini, cash, validator, cash_sim):
    hh = mini.household_ids[0]
    with unit_of_work(factory) as s:
        payment, _ = payments.start_bill_payment(s, mini.till, key="open", household_id=hh,
                                                 bill_ids=mini.bill_ids[hh][:1], method=PaymentMethod.CASH)
        pid = payment.id
        s.add(CashEventRecord(kiosk_id=mini.till.kiosk_id, counter=cash_sim.counter, kind="session", payment_id=pid))
    stack_while_down(validator, cash_sim, 100)
    assert cash.recover() == [CreditedNote(cash_sim.counter, 10_000, pid)]
    assert suspense(factory, mini) == 0
