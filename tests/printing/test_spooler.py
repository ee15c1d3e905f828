"""PrintSpooler with the real driver against SimPrinter over TCP: receipts print, failures wait, nothing prints twice."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from devices.sim.escpos_sim import SimState
from kiosk.domain.terms import PaymentMethod, PaymentStatus
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import AuditEntry, DeviceEvent, Payment
from kiosk.printing import PrinterCondition, PrinterStatusChanged, ReceiptPrinted, StaffAlert, alerts
from kiosk.receipts.gate import GateDecision
from kiosk.services import payments, print_queue
from tests.printing.conftest import eventually


def _device_events(rig) -> list[tuple[str, str]]:
    with unit_of_work(rig.factory) as s:
        return [(e.device, e.kind) for e in s.scalars(select(DeviceEvent).order_by(DeviceEvent.id))]


def _has_line(record: dict, text: str) -> bool:
    return any(text in line for line in record["lines"])


def test_a_paid_receipt_prints_and_its_job_is_marked_printed(make_rig):
    rig = make_rig()
    out = rig.pay()
    rig.spooler.kick()
    [record] = rig.sim.wait_for_records(1)
    assert record["complete"] and _has_line(record, out.receipt_number)
    event = rig.events.wait(ReceiptPrinted)
    assert (event.receipt_number, event.is_copy) == (out.receipt_number, False)
    assert eventually(lambda: rig.jobs() == [("printed", 1, "")])


def test_queued_jobs_print_in_the_order_they_were_queued(make_rig):
    rig = make_rig()
    numbers = [rig.pay(bill_index=n).receipt_number for n in range(3)]
    rig.spooler.kick()
    records = rig.sim.wait_for_records(3)
    assert [next(n for n in numbers if _has_line(r, n)) for r in records] == numbers
    assert eventually(lambda: [j[0] for j in rig.jobs()] == ["printed"] * 3)


def test_paper_running_out_mid_job_keeps_the_job_queued_and_prints_it_once_paper_is_back(make_rig):
    rig = make_rig()
    rig.sim.paper_out_after(8)
    out = rig.pay()
    rig.spooler.kick()
    [partial] = rig.sim.wait_for_records(1)
    assert not partial["complete"]
    status, attempts, error = eventually(lambda: next((j for j in rig.jobs() if j[1] == 1), None))
    assert status == "queued" and "during printing" in error
    rig.events.wait(StaffAlert, kind=PrinterCondition.PAPER_OUT, cleared=False)
    rig.steps_pass(3)  # the printer says "paper out": nothing is sent and no attempt is counted
    assert rig.jobs() == [("queued", 1, error)] and len(rig.sim.records) == 1

    rig.sim.set_state(SimState.OK)  # paper loaded; no restart, no kick: the timer finds it
    records = rig.sim.wait_for_records(2)
    assert records[1]["complete"] and _has_line(records[1], out.receipt_number)
    assert _has_line(records[1], "Printed again after an interrupted attempt")  # the clerk can tell the retry
    assert not _has_line(records[0], "Printed again")
    assert eventually(lambda: rig.jobs() == [("printed", 2, error)])
    rig.events.wait(StaffAlert, kind=PrinterCondition.PAPER_OUT, cleared=True)
    rig.steps_pass(3)
    assert len(rig.sim.records) == 2  # printed once: no duplicate
    with unit_of_work(rig.factory) as s:
        assert s.get(Payment, out.payment_id).status == PaymentStatus.SUCCEEDED


def test_an_unplugged_printer_keeps_jobs_waiting_and_prints_them_when_plugged_back(make_rig):
    rig = make_rig()
    rig.sim.refuse_connections()
    rig.sim.reset_connections()  # the cable is out: the open connection dies too
    out = rig.pay()
    rig.spooler.kick()
    alert = rig.events.wait(StaffAlert, kind=PrinterCondition.OFFLINE)
    assert "cannot connect" in alert.detail
    assert not rig.events.of(PrinterStatusChanged)[-1].status.online
    rig.steps_pass(3)
    assert rig.jobs() == [("queued", 0, "")] and rig.sim.records == []  # nothing sent, nothing counted
    assert rig.spooler.gate().decision is GateDecision.CANNOT_PRINT

    rig.sim.refuse_connections(False)
    [record] = rig.sim.wait_for_records(1)
    assert _has_line(record, out.receipt_number)
    assert eventually(lambda: rig.jobs() == [("printed", 1, "")])
    assert ("printer", "offline") in _device_events(rig) and ("printer", "ready") in _device_events(rig)


def test_a_connection_reset_during_a_job_reopens_the_printer_and_prints_the_job(make_rig):
    rig = make_rig()
    opened = rig.supervisor.open_count
    rig.sim.reset_next_job()
    out = rig.pay()
    rig.spooler.kick()
    [record] = rig.sim.wait_for_records(1)
    assert record["complete"] and _has_line(record, out.receipt_number)
    assert _has_line(record, "Printed again after an interrupted attempt")  # the reset one may have printed
    assert eventually(lambda: rig.jobs()[0][0] == "printed")
    status, attempts, error = rig.jobs()[0]
    assert attempts == 2 and "connection" in error
    assert rig.supervisor.open_count > opened  # the supervisor closed and reopened it


def test_payment_commits_while_the_printer_is_down_from_the_start(sim, make_rig):
    sim.refuse_connections()
    rig = make_rig(wait_open=False)
    eventually(lambda: rig.supervisor.health == "unavailable", 3, "printer unavailable")
    gate = rig.spooler.gate()
    assert gate.decision is GateDecision.CANNOT_PRINT and not gate.can_print
    out = rig.pay()  # the user chose to continue without a receipt
    with unit_of_work(rig.factory) as s:
        assert s.get(Payment, out.payment_id).status == PaymentStatus.SUCCEEDED
    rig.spooler.kick()
    rig.steps_pass(3)
    assert rig.jobs() == [("queued", 0, "")]

    sim.refuse_connections(False)  # the supervisor reopens it; AVAILABLE kicks the spooler
    [record] = sim.wait_for_records(1, timeout=5)
    assert _has_line(record, out.receipt_number)
    assert eventually(lambda: rig.jobs() == [("printed", 1, "")])


def test_paper_near_end_records_one_event_and_one_alert_and_still_prints(make_rig):
    rig = make_rig()
    rig.sim.set_state(SimState.NEAR_END)
    alert = rig.events.wait(StaffAlert, kind=PrinterCondition.PAPER_NEAR_END)
    assert alert.message == "The receipt printer paper is running low." and "near end" in alert.detail
    rig.steps_pass(3)
    assert _device_events(rig) == [("printer", "paper_near_end")]
    assert len(rig.events.of(StaffAlert)) == 1
    with unit_of_work(rig.factory) as s:  # what staff mode shows, also after a restart
        assert alerts.current(s, rig.mini.till.kiosk_id).condition is PrinterCondition.PAPER_NEAR_END
    out = rig.pay()
    rig.spooler.kick()
    assert _has_line(rig.sim.wait_for_records(1)[0], out.receipt_number)

    rig.sim.set_state(SimState.OK)  # paper loaded
    assert rig.events.wait(StaffAlert, cleared=True).kind is PrinterCondition.PAPER_NEAR_END
    assert eventually(lambda: _device_events(rig) == [("printer", "paper_near_end"), ("printer", "ready")])
    with unit_of_work(rig.factory) as s:
        assert alerts.current(s, rig.mini.till.kiosk_id) is None
        assert [e.condition for e in alerts.recent(s, rig.mini.till.kiosk_id)] == [PrinterCondition.READY,
                                                                                     PrinterCondition.PAPER_NEAR_END]


def test_a_reprint_prints_a_copy_marked_as_such_with_the_same_number(make_rig):
    rig = make_rig()
    out = rig.pay()
    rig.spooler.kick()
    [original] = rig.sim.wait_for_records(1)
    assert not _has_line(original, "Reprint")
    eventually(lambda: rig.jobs() == [("printed", 1, "")])

    copy = rig.spooler.reprint(out.receipt_number, actor="staff:1")
    assert copy.number == out.receipt_number and copy.notes[-1] == "Reprint no. 1"
    records = rig.sim.wait_for_records(2)
    assert _has_line(records[1], "Reprint no. 1") and _has_line(records[1], out.receipt_number)
    printed = rig.events.wait(ReceiptPrinted, is_copy=True)
    assert printed.receipt_number == out.receipt_number
    rig.spooler.reprint(int(out.receipt_number))
    assert _has_line(rig.sim.wait_for_records(3)[2], "Reprint no. 2")
    with unit_of_work(rig.factory) as s:
        actors = [a.actor for a in s.scalars(select(AuditEntry).where(AuditEntry.action == "receipt.reprint"))]
    assert actors == ["staff:1", f"kiosk:{rig.mini.till.kiosk_id}"]


def test_a_job_that_keeps_failing_is_given_up_and_the_next_one_prints(make_rig):
    rig = make_rig(max_attempts=2)
    rig.sim.paper_out_after(4)
    first = rig.pay(bill_index=0)
    second = rig.pay(bill_index=1)
    rig.spooler.kick()
    rig.sim.wait_for_records(1)
    eventually(lambda: rig.jobs()[0][1] == 1)
    rig.sim.paper_out_after(4)
    rig.sim.set_state(SimState.OK)
    eventually(lambda: rig.jobs()[0][0] == "failed", what="first job given up")
    rig.sim.set_state(SimState.OK)
    records = rig.sim.wait_for_records(3)
    assert _has_line(records[2], second.receipt_number) and records[2]["complete"]
    assert eventually(lambda: [j[0] for j in rig.jobs()] == ["failed", "printed"])
    assert not any(r["complete"] and _has_line(r, first.receipt_number) for r in records)


def test_jobs_queued_while_the_kiosk_was_off_print_when_the_spooler_starts(factory, mini, make_rig):
    hh = mini.household_ids[1]
    out = payments.pay_bills(factory, mini.till, key="before-start", household_id=hh, bill_ids=mini.bill_ids[hh][:1],
                             method=PaymentMethod.CARD, card_id=mini.card_ids[hh], language="zh_Hans")
    rig = make_rig(interval=30)  # no timer help: start() itself looks at the queue
    assert rig.spooler.drain(10) == 0
    [record] = rig.sim.wait_for_records(1)
    assert _has_line(record, out.receipt_number)


def test_a_receipt_printed_while_the_database_is_away_is_marked_later_and_never_printed_twice(make_rig, monkeypatch):
    real = print_queue.mark_printed
    failures = []

    def flaky(session, job_id, now=None):
        if not failures:
            failures.append(job_id)
            raise OperationalError("UPDATE print_jobs", {}, Exception("database is locked"))
        return real(session, job_id, now)

    monkeypatch.setattr(print_queue, "mark_printed", flaky)
    rig = make_rig()
    out = rig.pay()
    rig.spooler.kick()
    [record] = rig.sim.wait_for_records(1)
    assert _has_line(record, out.receipt_number)
    assert eventually(lambda: rig.jobs() == [("printed", 1, "")])
    rig.steps_pass(3)
    assert len(rig.sim.records) == 1 and failures


def test_drain_reports_what_is_left_when_the_printer_cannot_print(make_rig):
    rig = make_rig(interval=30)
    rig.sim.set_state(SimState.COVER_OPEN)  # before paying: a payment kicks the spooler at once
    rig.pay(bill_index=0)
    rig.pay(bill_index=1)
    assert rig.spooler.drain(5) == 2 and rig.sim.records == []
    rig.sim.set_state(SimState.OK)
    assert rig.spooler.drain(5) == 0 and len(rig.sim.wait_for_records(2)) == 2


@pytest.mark.parametrize("state, condition", [
    (SimState.OUT, PrinterCondition.PAPER_OUT),
    (SimState.COVER_OPEN, PrinterCondition.COVER_OPEN),
    (SimState.OFFLINE, PrinterCondition.OFFLINE),
    (SimState.NO_REPLY, PrinterCondition.OFFLINE),
])
def test_a_printer_that_cannot_print_is_sent_nothing_and_prints_the_waiting_job_once_it_can(make_rig, state,
                                                                                            condition):
    rig = make_rig()
    rig.sim.set_state(state)
    out = rig.pay()
    rig.spooler.kick()
    rig.events.wait(StaffAlert, kind=condition, cleared=False)
    sent, asked = rig.sim.traffic()
    rig.steps_pass(3)
    assert rig.jobs() == [("queued", 0, "")] and rig.sim.records == []
    received, requests = rig.sim.traffic()
    assert requests > asked and received - sent == 3 * (requests - asked)  # status requests only, never the job
    rig.sim.set_state(SimState.OK)
    [record] = rig.sim.wait_for_records(1)
    assert record["complete"] and _has_line(record, out.receipt_number)
    assert eventually(lambda: rig.jobs() == [("printed", 1, "")])
    rig.events.wait(StaffAlert, kind=condition, cleared=True)


def test_a_printer_that_stops_being_ready_just_before_the_job_goes_out_is_sent_nothing_and_counts_no_attempt(
        factory, mini, sim, make_rig):
    """The spooler's status says ready; the printer goes offline before the driver's own check just before
    sending (here: after the first four status requests). Nothing is sent, no attempt is counted, staff see it."""
    hh = mini.household_ids[0]
    out = payments.pay_bills(factory, mini.till, key="queued-first", household_id=hh, bill_ids=mini.bill_ids[hh][:1],
                             method=PaymentMethod.CARD, card_id=mini.card_ids[hh], language="en")
    sim.set_state_after(4, SimState.OFFLINE)  # the first step's status is the first the printer answers
    rig = make_rig(interval=30, recheck=30)  # only start() steps the spooler
    rig.events.wait(StaffAlert, kind=PrinterCondition.OFFLINE, cleared=False)
    assert rig.events.of(PrinterStatusChanged)[0].status.ready  # the step did see it ready
    assert rig.jobs() == [("queued", 0, "")] and sim.records == []
    received, requests = sim.traffic()
    assert requests >= 8 and received == 3 * requests  # the step's and the driver's status requests, no job byte

    sim.set_state(SimState.OK)
    assert rig.spooler.drain(5) == 0
    [record] = sim.wait_for_records(1)
    assert _has_line(record, out.receipt_number) and not _has_line(record, "Printed again")  # no attempt before
    assert eventually(lambda: rig.jobs() == [("printed", 1, "")])


def test_a_power_cycled_printer_prints_the_next_receipt_without_a_restart(make_rig):
    rig = make_rig()
    first = rig.pay(bill_index=0)
    rig.spooler.kick()
    rig.sim.wait_for_records(1)
    # only once the driver has read the status after the job: a power cut before that leaves it
    # unknown whether the receipt came out, and the job is (rightly) printed again
    eventually(lambda: rig.jobs() == [("printed", 1, "")])
    rig.sim.power_cycle()
    second = rig.pay(bill_index=1)
    rig.spooler.kick()
    records = rig.sim.wait_for_records(2)
    assert _has_line(records[0], first.receipt_number) and _has_line(records[1], second.receipt_number)
    assert eventually(lambda: [j[:2] for j in rig.jobs()] == [("printed", 1), ("printed", 1)])


def test_receipts_paid_on_several_threads_while_screens_ask_the_gate_each_print_exactly_once(make_rig):
    rig = make_rig(interval=30)  # only kicks: no timer to paper over a lost one
    numbers: list[str] = []
    gates: list[GateDecision] = []
    stop = threading.Event()

    def pay(household: int) -> None:
        for bill in range(3):
            numbers.append(rig.pay(bill_index=bill, household=household).receipt_number)
            rig.spooler.kick()

    def ask() -> None:
        while not stop.is_set():
            gates.append(rig.spooler.gate(timeout=2).decision)

    asker = threading.Thread(target=ask)
    asker.start()
    payers = [threading.Thread(target=pay, args=(h,)) for h in (0, 1)]
    for t in payers:
        t.start()
    for t in payers:
        t.join(30)
    records = rig.sim.wait_for_records(6, timeout=15)
    stop.set()
    asker.join(5)
    printed = sorted(n for r in records for n in numbers if _has_line(r, n))
    assert printed == sorted(numbers) and len(set(numbers)) == 6
    assert eventually(lambda: rig.jobs() == [("printed", 1, "")] * 6)
    assert gates and set(gates) == {GateDecision.OK}
    assert rig.spooler.drain(5) == 0 and len(rig.sim.records) == 6  # one more look finds nothing to print


def test_an_alert_left_standing_before_a_restart_is_cleared_when_the_printer_starts_ready(factory, mini, make_rig):
    with unit_of_work(factory) as s:
        alerts.record(s, mini.till.kiosk_id, "printer", PrinterCondition.PAPER_OUT, "paper out")
    rig = make_rig()
    cleared = rig.events.wait(StaffAlert, cleared=True)
    assert cleared.kind is PrinterCondition.PAPER_OUT
    with unit_of_work(factory) as s:
        assert alerts.current(s, mini.till.kiosk_id) is None
    assert _device_events(rig) == [("printer", "paper_out"), ("printer", "ready")]


def test_a_kiosk_that_starts_ready_with_no_standing_alert_records_nothing(make_rig):
    rig = make_rig()
    rig.steps_pass(2)
    assert _device_events(rig) == [] and rig.events.of(StaffAlert) == []
