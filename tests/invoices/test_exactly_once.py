"""Exactly once: one order number per request, sent by the worker; no answer means ask, never a new number."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from kiosk.domain.terms import PaymentStatus
from kiosk.invoices import queue
from kiosk.invoices.sender import Backoff, Sender
from kiosk.invoices.states import InvoiceState
from kiosk.invoices.worker import InvoiceWorker, sync
from kiosk.persistence.db import make_engine, unit_of_work
from tests.support.chain_key import bound_factory
from kiosk.persistence.models import InvoiceAnswer, InvoiceRequest
from kiosk.ports import InvoiceStatus
from tests.services.helpers import audit_actions

from .conftest import drain, view

NOW = Backoff(poll=(0,), retry_initial=0, retry_cap=0)


def test_the_worker_sends_a_queued_request_once_and_stores_the_issued_invoice(factory, paying, provider):
    invoice = paying.invoice(paying.bills().receipt_number)
    drain(provider, factory)
    done = view(factory, invoice.request_id)
    assert done.state is InvoiceState.ISSUED and len(done.invoice_no) == 20 and done.pdf_url and done.qr_payload
    assert done.order_no == invoice.order_no and provider.sends == {invoice.order_no: 1}
    assert "invoice.issued" in audit_actions(factory)


def test_a_lost_answer_leaves_unknown_and_is_resolved_by_querying_the_same_order_number(factory, paying, provider):
    invoice = paying.invoice(paying.bills().receipt_number)
    provider.lose_answer = 1  # the provider takes it; the kiosk's read times out
    worker = InvoiceWorker(provider, factory, backoff=NOW)
    [outcome] = worker.run_once()
    assert outcome.state == "unknown" and view(factory, invoice.request_id).state is InvoiceState.UNKNOWN
    drain(provider, factory)
    done = view(factory, invoice.request_id)
    assert done.state is InvoiceState.ISSUED and done.order_no == invoice.order_no
    assert provider.sends == {invoice.order_no: 1} and provider.issued() == [invoice.order_no]


def test_a_duplicate_order_answer_fetches_the_invoice_the_provider_already_holds(factory, paying, provider):
    invoice = paying.invoice(paying.bills().receipt_number)
    with unit_of_work(factory) as s:  # the provider got this order before (e.g. from a run whose answer was lost)
        from kiosk.invoices.sender import blue_order

        provider.request_invoice(blue_order(s, invoice.request_id))
    drain(provider, factory)
    done = view(factory, invoice.request_id)
    assert done.state is InvoiceState.ISSUED and provider.issued() == [invoice.order_no]
    with unit_of_work(factory) as s:
        answers = [(a.call, a.outcome) for a in s.scalars(select(InvoiceAnswer).order_by(InvoiceAnswer.id))]
    assert answers[0] == ("request", str(InvoiceStatus.DUPLICATE)) and answers[1] == ("query", "issued")


def test_provider_down_for_hours_loses_nothing_and_blocks_no_payment(factory, paying, provider):
    provider.down = True
    invoices = []
    for _ in range(3):
        paid = paying.bills(count=1)
        assert paid.status is PaymentStatus.SUCCEEDED
        invoices.append(paying.invoice(paid.receipt_number))
    worker = InvoiceWorker(provider, factory, backoff=NOW)
    for _ in range(5):  # hours of knocking, compressed
        worker.run_once()
    assert {view(factory, i.request_id).state for i in invoices} == {InvoiceState.UNKNOWN}
    provider.down = False
    drain(provider, factory)
    assert [view(factory, i.request_id).state for i in invoices] == [InvoiceState.ISSUED] * 3
    assert sorted(provider.issued()) == sorted(i.order_no for i in invoices)  # the same numbers, one invoice each


def test_back_off_spaces_the_attempts_while_the_provider_is_down(factory, paying, provider):
    invoice = paying.invoice(paying.bills().receipt_number)
    provider.down = True
    worker = InvoiceWorker(provider, factory, backoff=Backoff(retry_initial=30, retry_cap=60))
    assert len(worker.run_once()) == 1
    assert worker.run_once() == []  # not due again for about 30 s
    with unit_of_work(factory) as s:
        row = s.get(InvoiceRequest, invoice.request_id)
        wait = (row.next_attempt_at - queue.db_now(s)).total_seconds()
    assert 20 < wait <= 36


def test_a_crash_after_sending_before_storing_is_resolved_by_query_on_restart(factory, paying, provider):
    invoice = paying.invoice(paying.bills().receipt_number)

    class Killed(BaseException):
        pass

    def die(claim, call):
        raise Killed()  # the process ends here: the provider has the order, our database does not know

    with pytest.raises(Killed):
        InvoiceWorker(provider, factory, backoff=NOW, lease_s=0.05, after_call=die).run_once()
    assert view(factory, invoice.request_id).state is InvoiceState.SENDING
    import time

    time.sleep(0.1)  # the dead worker's claim lapses (a killed process of this host lapses at once)
    drain(provider, factory)
    done = view(factory, invoice.request_id)
    assert done.state is InvoiceState.ISSUED and done.order_no == invoice.order_no
    assert provider.sends == {invoice.order_no: 1}
    with unit_of_work(factory) as s:
        calls = [a.call for a in s.scalars(select(InvoiceAnswer).order_by(InvoiceAnswer.id))]
    assert calls == ["query"]  # resolved by asking, never by sending again


def test_a_failed_invoice_keeps_the_providers_reason_and_a_retry_takes_a_new_order_number(factory, paying, provider):
    from kiosk.invoices import requests, titles

    invoice = paying.invoice(paying.bills().receipt_number)
    provider.fail_next = "购方名称与税号不符"
    drain(provider, factory)
    failed = view(factory, invoice.request_id)
    assert failed.state is InvoiceState.FAILED and failed.failure_reason == "购方名称与税号不符"
    fixed = titles.make_buyer("company", "厦门某某科技有限公司", "91350100M000100Y43")
    with unit_of_work(factory) as s:
        again = requests.retry(s, invoice.request_id, actor="staff:王芳", buyer=fixed)
    assert again.state is InvoiceState.QUEUED and again.order_no != invoice.order_no
    drain(provider, factory)
    done = view(factory, invoice.request_id)
    assert done.state is InvoiceState.ISSUED and done.buyer_name == "厦门某某科技有限公司"
    assert provider.sends == {invoice.order_no: 1, again.order_no: 1}
    assert "invoice.failed" in audit_actions(factory) and "invoice.retried" in audit_actions(factory)


def test_only_a_failed_request_can_be_retried(factory, paying):
    from kiosk.errors import InvoiceWrongState
    from kiosk.invoices import requests

    invoice = paying.invoice(paying.bills().receipt_number)
    with unit_of_work(factory) as s, pytest.raises(InvoiceWrongState):
        requests.retry(s, invoice.request_id, actor="staff:王芳")


def test_a_seal_failure_is_reissued_under_the_same_order_number(factory, paying, provider):
    provider.seal_fail = 2
    invoice = paying.invoice(paying.bills().receipt_number)
    drain(provider, factory)
    done = view(factory, invoice.request_id)
    assert done.state is InvoiceState.ISSUED and provider.reissues == {invoice.order_no: 2}
    assert provider.sends == {invoice.order_no: 1}


def test_sync_sends_what_is_queued_and_asks_once_about_everything_pending(factory, paying, provider):
    provider.delay_s = 3600  # the bureau is slow today
    first = paying.invoice(paying.bills(count=1).receipt_number)
    second = paying.invoice(paying.bills(count=1).receipt_number)
    outcomes = sync(provider, factory)
    assert sorted(o.order_no for o in outcomes) == sorted([first.order_no, second.order_no])
    assert {view(factory, i.request_id).state for i in (first, second)} == {InvoiceState.ISSUING}
    assert provider.queries == {first.order_no: 1, second.order_no: 1}
    provider.delay_s = 0
    sync(provider, factory)
    assert {view(factory, i.request_id).state for i in (first, second)} == {InvoiceState.ISSUED}
    assert set(provider.sends.values()) == {1}


def test_two_workers_racing_on_one_queue_never_send_a_request_twice(backend, db_url, factory, paying, provider):
    invoices = [paying.invoice(paying.bills(household=n % 2, count=1).receipt_number) for n in range(6)]
    engines = [make_engine(db_url) for _ in range(3)]
    workers = [InvoiceWorker(provider, bound_factory(e, f"K0{n + 2}"), label=f"w{n}", backoff=NOW, batch=2)
               for n, e in enumerate(engines)]
    start = threading.Barrier(len(workers))
    errors: list[BaseException] = []

    def run(worker):
        start.wait()
        try:
            for _ in range(40):
                worker.run_once()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for e in engines:
        e.dispose()
    assert errors == []
    assert {view(factory, i.request_id).state for i in invoices} == {InvoiceState.ISSUED}
    assert provider.sends == {i.order_no: 1 for i in invoices}  # each order sent once, by one of them
    assert sum(w.outcomes for w in workers) >= 12
