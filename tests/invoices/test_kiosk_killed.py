"""The kiosk is SIGKILLed after the provider took the order and before our database stored its answer (a real
worker process, the real adapter, the simulator process): the restarted kiosk asks about that order number and
ends with one invoice, never sending it again."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

from sqlalchemy import select

from kiosk.invoices.sender import Backoff
from kiosk.invoices.states import InvoiceState
from kiosk.invoices.worker import InvoiceWorker
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import InvoiceAnswer

from .conftest import ROOT, view, wait_for


def test_killed_after_sending_before_storing_restart_resolves_by_query_one_invoice(db_url, factory, paying, nuonuo,
                                                                                    sim, seen, tmp_path):
    invoice = paying.invoice(paying.bills(count=2).receipt_number)
    child = subprocess.Popen([sys.executable, "-m", "tests.invoices.worker_child", db_url, sim.url,
                              str(tmp_path / "child-token.json")], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline().strip()  # type: ignore[union-attr]
        assert line == f"SENT {invoice.order_no} request", child.stderr.read()  # type: ignore[union-attr]
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    assert view(factory, invoice.request_id).state is InvoiceState.SENDING  # claimed by a process now gone
    assert sim.state()["orders"].get(invoice.order_no) in ("20", "2")  # the provider has it

    restarted = InvoiceWorker(nuonuo, factory, backoff=Backoff(poll=(0.1,), retry_initial=0.05, retry_cap=0.2))
    assert wait_for(lambda: restarted.run_once() is not None and view(factory, invoice.request_id).state
                    is InvoiceState.ISSUED)
    done = view(factory, invoice.request_id)
    assert done.order_no == invoice.order_no and len(done.invoice_no) == 20
    with unit_of_work(factory) as s:
        calls = {a.call for a in s.scalars(select(InvoiceAnswer).where(InvoiceAnswer.request_id == invoice.request_id))}
    assert calls == {"query"}  # the restart asked; it never sent the order again
    assert seen() == {"orders": {invoice.order_no: "2"}, "duplicates": 0, "refused": 0, "reinvoices": 0}
