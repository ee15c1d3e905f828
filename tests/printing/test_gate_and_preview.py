"""The check before money (fresh status, short timeout), receipt previews for staff, reprint numbering, layering."""
from __future__ import annotations

import ast
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from devices.printer.preview import previewer
from devices.sim.escpos_sim import SimPrinter, SimState
from kiosk.errors import NotFound
from kiosk.persistence.db import unit_of_work
from kiosk.printing import receipt_preview
from kiosk.receipts.gate import (
    REASON_COVER_OPEN,
    REASON_OFFLINE,
    REASON_PAPER_NEAR_END,
    REASON_PAPER_OUT,
    GateDecision,
)
from kiosk.services import print_queue, receipts

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("state, decision, reason", [
    (SimState.OK, GateDecision.OK, ""),
    (SimState.NEAR_END, GateDecision.NEAR_END, REASON_PAPER_NEAR_END),
    (SimState.OUT, GateDecision.CANNOT_PRINT, REASON_PAPER_OUT),
    (SimState.COVER_OPEN, GateDecision.CANNOT_PRINT, REASON_COVER_OPEN),
    (SimState.OFFLINE, GateDecision.CANNOT_PRINT, REASON_OFFLINE),
    (SimState.NO_REPLY, GateDecision.CANNOT_PRINT, REASON_OFFLINE),
])
def test_gate_reads_a_fresh_status_from_the_printer(make_rig, state, decision, reason):
    # no timer step in between: the gate's own status request decides; a short status timeout, so that a
    # printer not answering is told within the gate's 1.5 s
    rig = make_rig(interval=30, status_timeout=0.3)
    rig.sim.set_state(state)
    started = time.monotonic()
    gate = rig.spooler.gate(timeout=1.5)
    assert (gate.decision, gate.reason) == (decision, reason)
    assert time.monotonic() - started < 1.5
    assert rig.spooler.last_status is not None and rig.spooler.last_status.ready == (decision is not
                                                                                     GateDecision.CANNOT_PRINT)


def test_gate_does_not_wait_longer_than_its_timeout_for_a_busy_printer_thread(make_rig):
    rig = make_rig(interval=30)
    release = threading.Event()
    rig.supervisor.worker.submit(lambda _p: release.wait(5))  # something else holds the printer's thread
    try:
        started = time.monotonic()
        gate = rig.spooler.gate(timeout=0.3)
        elapsed = time.monotonic() - started
    finally:
        release.set()
    assert gate.decision is GateDecision.CANNOT_PRINT and "no status within" in gate.detail
    assert 0.3 <= elapsed < 0.8


def test_gate_is_cannot_print_at_once_while_the_printer_is_unavailable(sim, make_rig):
    sim.refuse_connections()
    rig = make_rig(wait_open=False)
    started = time.monotonic()
    while rig.supervisor.health != "unavailable":
        assert time.monotonic() - started < 3
        time.sleep(0.02)
    started = time.monotonic()
    gate = rig.spooler.gate()
    assert gate.decision is GateDecision.CANNOT_PRINT and gate.reason == REASON_OFFLINE
    assert "refused" in gate.detail.lower() and time.monotonic() - started < 0.1


def test_preview_of_a_stored_receipt_is_drawn_once_and_reused(factory, mini, tmp_path):
    calls = []
    draw = previewer(columns=48)

    def counting(doc, out):
        calls.append(doc.number)
        return draw(doc, out)

    with unit_of_work(factory) as s:
        receipt, doc = receipts.issue(s, mini.till, kind=receipts.ReceiptKind.BILL_PAYMENT, language="zh_Hans",
                                      title="物业费缴费收据", total_fen=12_345)
        number = receipts.format_number(receipt.number)
    first = receipt_preview(factory, mini.till.site_id, number, tmp_path / "previews", counting)
    again = receipt_preview(factory, mini.till.site_id, int(number), tmp_path / "previews", counting)
    assert first == again and calls == [number]
    with Image.open(first) as image:
        assert image.width >= 576 and image.height > 200  # the paper plus the renderer's margin
    assert [p.name for p in (tmp_path / "previews").iterdir()] == [first.name]  # no partial file left
    with pytest.raises(NotFound):
        receipt_preview(factory, mini.till.site_id, "99999999", tmp_path / "previews", counting)
    with pytest.raises(NotFound):
        receipt_preview(factory, mini.till.site_id, "12; DROP", tmp_path / "previews", counting)


def test_each_reprint_job_carries_its_own_copy_number(factory, mini):
    with unit_of_work(factory) as s:
        receipt, _doc = receipts.issue(s, mini.till, kind=receipts.ReceiptKind.TOP_UP, language="en", title="Top-up")
        receipts.queue_reprint(s, receipt, mini.till.kiosk_id)
        receipts.queue_reprint(s, receipt, mini.till.kiosk_id)
    with unit_of_work(factory) as s:
        jobs = print_queue.queued_jobs(s, mini.till.kiosk_id)
        notes = [print_queue.printable_document(j).notes for j in jobs]
    assert [(j.is_copy, j.copy_no) for j in jobs] == [(False, 0), (True, 1), (True, 2)]
    assert notes == [(), ("Reprint no. 1",), ("Reprint no. 2",)]


def test_kiosk_printing_talks_to_the_port_only():
    offenders = []
    for path in sorted((ROOT / "kiosk" / "printing").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in {"devices", "escpos", "serial",
                                                                                      "kivy", "screens"}]
    assert offenders == []


def test_gate_answers_from_the_status_seen_just_before_a_receipt_still_printing_at_9600_baud(tmp_path, make_rig):
    with SimPrinter(tmp_path / "slow", port=0, pty=True, wire_baud=9600) as slow:
        rig = make_rig(interval=30, printer=slow, url=f"serial:{slow.pty_path}?baud=9600")
        rig.pay()
        rig.spooler.kick()
        started = time.monotonic()
        while not rig.spooler.printing:  # about 1.5 s on the wire from here
            assert time.monotonic() - started < 3
            time.sleep(0.01)
        asked = time.monotonic()
        gate = rig.spooler.gate(timeout=0.3)
        assert gate.decision is GateDecision.OK and time.monotonic() - asked < 0.5
        assert rig.spooler.printing  # answered while the job was still going out
        assert slow.wait_for_records(1)[0]["complete"]
