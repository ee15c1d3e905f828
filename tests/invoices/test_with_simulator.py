"""The kiosk's invoice side against the real provider simulator process, through our Nuonuo adapter."""
from __future__ import annotations

import threading
import urllib.parse
import urllib.request

import pytest

from kiosk.errors import InvalidTaxId
from kiosk.invoices import titles
from kiosk.invoices.sender import Backoff
from kiosk.invoices.service import Invoicing
from kiosk.invoices.states import InvoiceState
from kiosk.invoices.worker import InvoiceWorker
from kiosk.persistence.db import make_engine, unit_of_work
from tests.support.chain_key import bound_factory
from kiosk.services import voids
from kiosk.settings import load

from .conftest import COMPANY, ROOT, drain, view, wait_for

QUICK = Backoff(poll=(0.1,), retry_initial=0.05, retry_cap=0.2)




def _invoicing(factory, mini, nuonuo, table, tmp_path) -> Invoicing:
    settings = load(tmp_path / "cfg", str(ROOT / "config" / "demo-invoices.toml"), with_secrets=False).invoices
    return Invoicing(settings, factory, mini.till, nuonuo, table=table, backoff=QUICK)


def test_a_paid_receipt_is_invoiced_once_by_the_worker_thread(factory, mini, paying, nuonuo, sim, seen, table,
                                                               tmp_path):
    invoicing = _invoicing(factory, mini, nuonuo, table, tmp_path)
    invoicing.start()
    try:
        paid = paying.bills(count=3)
        buyer = titles.make_buyer("company", *COMPANY)
        queued = invoicing.request(paid.receipt_number, buyer=buyer, actor="kiosk:K01")
        done = wait_for(lambda: (v := invoicing.get(queued.request_id)).state is InvoiceState.ISSUED and v)
    finally:
        invoicing.stop()
    assert done, invoicing.get(queued.request_id)
    assert len(done.invoice_no) == 20 and done.pdf_url.startswith(sim.url) and done.qr_payload
    state = seen()
    assert state["orders"] == {queued.order_no: "2"} and state["duplicates"] == 0 and state["refused"] == 0


def test_the_provider_down_during_the_request_loses_nothing(factory, paying, nuonuo, sim, seen):
    sim.control(outage="drop")  # the connection closes unanswered: perhaps received, perhaps not
    invoice = paying.invoice(paying.bills().receipt_number)
    worker = InvoiceWorker(nuonuo, factory, backoff=QUICK)
    worker.run_once()
    assert view(factory, invoice.request_id).state is InvoiceState.UNKNOWN
    sim.control(outage=False)
    assert wait_for(lambda: worker.run_once() is not None and view(factory, invoice.request_id).state
                    is InvoiceState.ISSUED)
    state = seen()
    assert state["orders"] == {invoice.order_no: "2"} and state["duplicates"] == 0


def test_an_answer_that_comes_too_late_is_resolved_by_query_not_resent(factory, paying, nuonuo, sim, seen):
    sim.control(stall_s=4)  # the provider does the work, the reply misses the adapter's 3 s timeout
    invoice = paying.invoice(paying.bills().receipt_number)
    worker = InvoiceWorker(nuonuo, factory, backoff=QUICK)
    worker.run_once()
    assert view(factory, invoice.request_id).state is InvoiceState.UNKNOWN
    sim.control(stall_s=0)
    assert wait_for(lambda: worker.run_once() is not None and view(factory, invoice.request_id).state
                    is InvoiceState.ISSUED)
    state = seen()
    assert state["orders"] == {invoice.order_no: "2"} and state["duplicates"] == 0


def test_a_wrong_buyer_tax_id_is_refused_before_sending(paying, nuonuo, sim, seen):
    paid = paying.bills()
    with pytest.raises(InvalidTaxId):
        paying.invoice(paid.receipt_number, tax_id="91350100M000100Y44")
    assert seen()["orders"] == {}


def test_a_buyer_the_bureau_does_not_know_fails_with_its_reason_and_staff_retry_it(factory, paying, nuonuo, sim,
                                                                                  seen):
    from kiosk.invoices import requests

    sim.control(unregistered_tax_ids=[COMPANY[1]])
    invoice = paying.invoice(paying.bills().receipt_number)
    drain_until(nuonuo, factory, invoice.request_id, InvoiceState.FAILED)
    failed = view(factory, invoice.request_id)
    assert failed.failure_reason
    fixed = titles.make_buyer("company", "深圳市腾讯计算机系统有限公司", "9144030071526726XG")
    with unit_of_work(factory) as s:
        again = requests.retry(s, invoice.request_id, actor="staff:王芳", buyer=fixed)
    drain_until(nuonuo, factory, invoice.request_id, InvoiceState.ISSUED)
    assert seen()["orders"] == {invoice.order_no: "22", again.order_no: "2"}


def test_a_void_after_issue_is_reversed_by_a_red_letter_at_the_provider(factory, paying, nuonuo, sim):
    paid = paying.bills(count=2)
    invoice = paying.invoice(paid.receipt_number)
    drain_until(nuonuo, factory, invoice.request_id, InvoiceState.ISSUED)
    with unit_of_work(factory) as s:
        voids.void_receipt(s, paying.mini.till, number=paid.receipt_number, reason="charged twice",
                           actor="staff:王芳", language="en", invoice_reason="3")
    drain_until(nuonuo, factory, invoice.request_id, InvoiceState.RED_LETTERED)
    red = view(factory, invoice.request_id).red_letters[0]
    orders = sim.state()["orders"]
    assert orders[red.order_no] == "2" and len(red.invoice_no) == 20 and red.invoice_no != invoice.invoice_no


def test_a_partial_red_letter_reverses_its_lines_at_the_provider(factory, paying, nuonuo, sim):
    from kiosk.invoices import red_letters, requests
    from kiosk.ports import RedLetterReason

    paid = paying.bills(count=3)
    invoice = paying.invoice(paid.receipt_number)
    drain_until(nuonuo, factory, invoice.request_id, InvoiceState.ISSUED)
    with unit_of_work(factory) as s:
        red_letters.file_red_letter(s, requests.get(s, invoice.request_id), reason=RedLetterReason.DISCOUNT,
                                    actor="staff:王芳", positions=[1, 3])
    assert wait_for(lambda: drain(nuonuo, factory) and view(factory, invoice.request_id).red_letters[0].state
                    == "issued")
    done = view(factory, invoice.request_id)
    assert done.state is InvoiceState.ISSUED and done.red_letters[0].positions == (1, 3)
    assert done.red_fen == done.lines[0].included_fen + done.lines[2].included_fen


def test_the_title_form_filled_on_the_phone_comes_back_checked(factory, mini, paying, nuonuo, sim, table, tmp_path):
    invoicing = _invoicing(factory, mini, nuonuo, table, tmp_path)
    form = invoicing.open_title_form(120)
    assert invoicing.read_title(form.session_id) is None  # nobody has filled it yet
    body = urllib.parse.urlencode({"kind": "company", "name": "深圳市腾讯计算机系统有限公司",
                                   "tax_id": "9144030071526726XG"}).encode()
    with urllib.request.urlopen(urllib.request.Request(form.url, data=body, method="POST"), timeout=5) as answer:
        assert answer.status == 200
    buyer = invoicing.read_title(form.session_id)
    assert buyer is not None and buyer.tax_id == "9144030071526726XG"
    view_ = invoicing.request(paying.bills().receipt_number, buyer=buyer, actor="kiosk:K01")
    assert view_.buyer_name == "深圳市腾讯计算机系统有限公司"


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_two_workers_racing_on_one_queue_never_send_a_request_twice(backend, db_url, factory, paying, nuonuo, sim,
                                                                    seen):
    sim.control(delay_s=0.05)
    invoices = [paying.invoice(paying.bills(household=n % 2, count=1).receipt_number) for n in range(6)]
    engines = [make_engine(db_url) for _ in range(2)]
    workers = [InvoiceWorker(nuonuo, bound_factory(e, f"K0{n + 2}"), label=f"race{n}", backoff=QUICK, batch=3)
               for n, e in enumerate(engines)]
    start = threading.Barrier(2)

    def run(worker):
        start.wait()
        for _ in range(200):
            worker.run_once()
            if all(view(factory, i.request_id).state is InvoiceState.ISSUED for i in invoices):
                return

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for e in engines:
        e.dispose()
    assert {view(factory, i.request_id).state for i in invoices} == {InvoiceState.ISSUED}
    state = seen()
    assert sorted(state["orders"]) == sorted(i.order_no for i in invoices) and state["duplicates"] == 0
    assert set(state["orders"].values()) == {"2"}
    assert all(w.outcomes for w in workers)  # both took part


def drain_until(provider, factory, request_id, wanted, timeout_s=15.0, backoff=QUICK):
    worker = InvoiceWorker(provider, factory, backoff=backoff)
    reached = wait_for(lambda: worker.run_once() is not None and view(factory, request_id).state is wanted,
                       timeout_s)
    assert reached, view(factory, request_id)


def test_an_accepted_order_the_provider_does_not_list_yet_is_asked_again_not_resent(factory, paying, nuonuo, sim,
                                                                                      seen):
    sim.control(listing_lag_s=0.6, delay_s=0.2)  # right after submission the provider says "no such order"
    invoice = paying.invoice(paying.bills().receipt_number)
    drain_until(nuonuo, factory, invoice.request_id, InvoiceState.ISSUED,
                backoff=Backoff(poll=(0.1,) * 20, retry_initial=0.05, retry_cap=0.2))  # 2 s of polls
    assert seen()["orders"] == {invoice.order_no: "2"} and seen()["duplicates"] == 0
    sim.control(listing_lag_s=0)
