"""The print queue: a worker drains queued jobs; failures are counted and never touch the payment."""
from __future__ import annotations

from sqlalchemy import select

from kiosk.domain.terms import PaymentMethod, PaymentStatus
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Payment, PrintJob
from kiosk.services import payments, print_queue, receipts


def _pay(factory, mini, key="q1"):
    hh = mini.household_ids[0]
    return payments.pay_bills(factory, mini.till, key=key, household_id=hh, bill_ids=mini.bill_ids[hh][:1],
                              method=PaymentMethod.CARD, card_id=mini.card_ids[hh], language="en")


def test_paid_receipt_is_queued_and_marked_printed(factory, mini):
    out = _pay(factory, mini)
    with unit_of_work(factory) as s:
        jobs = print_queue.queued_jobs(s, mini.till.kiosk_id)
        assert [(j.receipt_number, j.is_copy) for j in jobs] == [(out.receipt_number, False)]
        assert jobs[0].document.number == out.receipt_number
        print_queue.mark_printed(s, jobs[0].job_id)
    with unit_of_work(factory) as s:
        assert print_queue.queued_jobs(s, mini.till.kiosk_id) == ()
        assert s.scalars(select(PrintJob.status)).one() == "printed"


def test_failures_are_retried_then_failed_and_the_payment_stands(factory, mini):
    out = _pay(factory, mini)
    statuses = []
    for n in range(3):
        with unit_of_work(factory) as s:
            job = print_queue.queued_jobs(s, mini.till.kiosk_id)[0]
            statuses.append(print_queue.mark_failed(s, job.job_id, f"paper out {n}", max_attempts=3))
    assert statuses == ["queued", "queued", "failed"]
    with unit_of_work(factory) as s:
        job = s.scalars(select(PrintJob)).one()
        assert (job.attempts, job.last_error) == (3, "paper out 2")
        assert s.get(Payment, out.payment_id).status == PaymentStatus.SUCCEEDED
        assert print_queue.requeue_failed(s, mini.till.kiosk_id, actor="staff:x") == 1
    with unit_of_work(factory) as s:
        assert len(print_queue.queued_jobs(s, mini.till.kiosk_id)) == 1


def test_reprint_is_queued_as_a_copy(factory, mini):
    out = _pay(factory, mini)
    with unit_of_work(factory) as s:
        first = print_queue.queued_jobs(s, mini.till.kiosk_id)[0]
        print_queue.mark_printed(s, first.job_id)
        receipts.queue_reprint(s, receipts.find(s, mini.till.site_id, int(out.receipt_number)), mini.till.kiosk_id)
    with unit_of_work(factory) as s:
        assert [j.is_copy for j in print_queue.queued_jobs(s, mini.till.kiosk_id)] == [True]
