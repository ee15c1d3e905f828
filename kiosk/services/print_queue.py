"""The print queue a printer worker drains: queued jobs per kiosk, marked printed or failed; payments untouched."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kiosk.domain.receipt import ReceiptDocument
from kiosk.errors import NotFound
from kiosk.i18n import N_, translate
from kiosk.invoices import receipt_marks
from kiosk.persistence.models import PrintJob, Receipt, utcnow
from kiosk.services import audit, receipts

MAX_ATTEMPTS = 5
QUEUED, PRINTED, FAILED = "queued", "printed", "failed"


@dataclass(frozen=True)
class PrintJobView:
    job_id: int
    receipt_id: int
    receipt_number: str
    attempts: int
    last_error: str
    is_copy: bool
    document: ReceiptDocument  # as issued; print `printable_document(view)`, which marks copies
    copy_no: int = 0  # 0 for the receipt's first job, n for the n-th job queued after it (a reprint)


def queued_jobs(session: Session, kiosk_id: int, limit: int = 10) -> tuple[PrintJobView, ...]:
    """Jobs waiting for this kiosk's printer, oldest first. A job queued after the receipt's first
    one is a reprint (is_copy)."""
    rows = session.execute(select(PrintJob, Receipt).join(Receipt, Receipt.id == PrintJob.receipt_id)
                           .where(PrintJob.kiosk_id == kiosk_id, PrintJob.status == QUEUED)
                           .order_by(PrintJob.id).limit(limit)).all()
    firsts = _first_jobs(session, [r.id for _j, r in rows])
    earlier = _earlier_jobs(session, [job.id for job, _r in rows])
    invoices = receipt_marks.requests_of(session, [r.id for _j, r in rows])  # the invoice's QR and "发票开具中"
    return tuple(PrintJobView(job.id, r.id, receipts.format_number(r.number), job.attempts, job.last_error,
                              firsts.get(r.id) != job.id, receipt_marks.mark(receipts.document(r), invoices.get(r.id)),
                              earlier.get(job.id, 0))
                 for job, r in rows)


RETRY_NOTE = N_("Printed again after an interrupted attempt: an earlier copy with this number may exist.")


def printable_document(job: PrintJobView) -> ReceiptDocument:
    """What the printer prints for a job: the stored document; a copy is marked "Reprint no. n", and a job
    sent before without success says so, because that attempt may have reached the paper (a connection
    lost before the printer's reply, paper running out mid-job): a clerk who finds two slips with one
    number can tell which is the retry."""
    doc = job.document
    notes = doc.notes
    if job.is_copy:
        notes += (translate(N_("Reprint no. {count}"), doc.language, count=max(job.copy_no, 1)),)
    if job.attempts:
        notes += (translate(RETRY_NOTE, doc.language),)
    return doc if notes == doc.notes else replace(doc, notes=notes)


def _first_jobs(session: Session, receipt_ids: list[int]) -> dict[int, int]:
    if not receipt_ids:
        return {}
    return {receipt_id: first for receipt_id, first in
            session.execute(select(PrintJob.receipt_id, func.min(PrintJob.id))
                            .where(PrintJob.receipt_id.in_(receipt_ids)).group_by(PrintJob.receipt_id))}


def _earlier_jobs(session: Session, job_ids: list[int]) -> dict[int, int]:
    """For each job, how many jobs of the same receipt were queued before it (its copy number)."""
    if not job_ids:
        return {}
    other = PrintJob.__table__.alias("earlier")
    query = (select(PrintJob.id, func.count(other.c.id)).join(other, (other.c.receipt_id == PrintJob.receipt_id)
                                                              & (other.c.id < PrintJob.id), isouter=True)
             .where(PrintJob.id.in_(job_ids)).group_by(PrintJob.id))
    return {job_id: int(count) for job_id, count in session.execute(query)}


def mark_printed(session: Session, job_id: int, now: datetime | None = None) -> None:
    job = _job(session, job_id)
    job.status, job.printed_at = PRINTED, now or utcnow()
    job.attempts += 1
    session.flush()


def mark_failed(session: Session, job_id: int, error: str, max_attempts: int = MAX_ATTEMPTS) -> str:
    """Count the attempt; the job stays queued for another try until `max_attempts`, then it is failed
    (staff can requeue it). Returns the job's status. Nothing here touches the payment."""
    job = _job(session, job_id)
    job.attempts += 1
    job.last_error = error[:200]
    job.status = FAILED if job.attempts >= max_attempts else QUEUED
    session.flush()
    if job.status == FAILED:
        audit.record(session, f"kiosk:{job.kiosk_id}", "print.failed", str(job.receipt_id), attempts=job.attempts,
                     error=job.last_error)
    return job.status


def requeue_failed(session: Session, kiosk_id: int, actor: str = "") -> int:
    """Put every failed job of the kiosk back in the queue (after the printer was fixed)."""
    result = session.execute(update(PrintJob).where(PrintJob.kiosk_id == kiosk_id, PrintJob.status == FAILED)
                             .values(status=QUEUED, attempts=0).execution_options(synchronize_session=False))
    count = int(result.rowcount or 0)
    if count:
        audit.record(session, actor or f"kiosk:{kiosk_id}", "print.requeued", str(kiosk_id), jobs=count)
    return count


def _job(session: Session, job_id: int) -> PrintJob:
    job = session.get(PrintJob, job_id)
    if job is None:
        raise NotFound(f"print job {job_id}")
    return job


@dataclass(frozen=True)
class JobSummary:
    """One line of the staff / technician view of a kiosk's print queue."""

    job_id: int
    receipt_number: str
    status: str
    attempts: int
    last_error: str
    created_at: datetime


def waiting_jobs(session: Session, kiosk_id: int, limit: int = 50) -> tuple[JobSummary, ...]:
    """Jobs not printed yet (queued, then failed ones staff may requeue), oldest first."""
    rows = session.execute(select(PrintJob, Receipt.number).join(Receipt, Receipt.id == PrintJob.receipt_id)
                           .where(PrintJob.kiosk_id == kiosk_id, PrintJob.status.in_([QUEUED, FAILED]))
                           .order_by(PrintJob.status.desc(), PrintJob.id).limit(limit)).all()
    return tuple(JobSummary(job.id, receipts.format_number(number), job.status, job.attempts, job.last_error,
                            job.created_at) for job, number in rows)


def count_by_status(session: Session, kiosk_id: int) -> dict[str, int]:
    """{"queued": n, "printed": n, "failed": n} for the kiosk (statuses with no job are 0)."""
    counts = {QUEUED: 0, PRINTED: 0, FAILED: 0}
    for status, n in session.execute(select(PrintJob.status, func.count()).where(PrintJob.kiosk_id == kiosk_id)
                                     .group_by(PrintJob.status)):
        counts[status] = int(n)
    return counts
