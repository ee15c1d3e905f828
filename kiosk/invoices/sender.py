"""Talking to the provider about one claimed row, and storing what it said: the exactly-once rules in code.

For a blue request (a red letter is handled the same way):
- `send`: request_invoice(order) under the STORED order number. ACCEPTED -> issuing; DUPLICATE -> the provider
  already holds that number: query it at once and take what it says (never mint a new one); no usable answer
  (InvoiceProviderUnreachable: down, timeout, garbled) -> unknown; rate limited or credentials refused -> queued
  again (the provider did not take it); refused (InvoiceRejected) -> failed with the provider's reason.
- `query`: query(order_no). ISSUED -> issued (number, QR payload, PDF URL); ISSUING -> poll again later; FAILED ->
  failed with the reason; SEAL_FAILED -> reissue (at most 20 times per order and site day, then wait for the next
  day); NOT_FOUND -> for an order in doubt (unknown), queued to be sent again under the same number (safe: a
  provider that had it answers DUPLICATE, and we fetch it); for an order it accepted, polled on (a provider may
  not list an order for a moment after accepting it) until the poll schedule runs out; no answer -> unchanged,
  asked again later.
- A request voided while the provider held it is cancelled when it fails and red-lettered once issued.
Every answer (or its absence) is stored in invoice_answers, in the transaction that applies it.
"""
from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from kiosk.domain import site_clock
from kiosk.errors import (InvoiceProviderUnreachable, InvoiceRateLimited, InvoiceRejected, InvoiceSignatureRejected,
                          KioskError)
from kiosk.invoices import red_letters
from kiosk.invoices.queue import Claim, db_now
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import (InvoiceAnswer, InvoiceLineRecord, InvoiceRequest, Receipt, RedLetter,
                                      RedLetterLine)
from kiosk.ports import (BuyerKind, InvoiceBuyer, InvoiceLine, InvoiceOrder, InvoiceProvider, InvoiceResult,
                         InvoiceStatus, RedLetterReason, RedLetterRequest, TaxPolicy)
from kiosk.services import audit, receipts

log = logging.getLogger(__name__)
REISSUES_PER_DAY = 20
NOT_ACCEPTED = (InvoiceRateLimited, InvoiceSignatureRejected)


@dataclass(frozen=True)
class Backoff:
    """Seconds until the next talk about a row. `poll`: while the provider is issuing (the first ask a second
    after it accepted, then every half second: most invoices are ready within seconds; then slower, capped at
    5 minutes, for the hours a bureau may take). `retry`: after no
    answer or a refusal to take it (doubling from `retry_initial` to `retry_cap`, with ±20 % jitter so many
    kiosks do not knock at once)."""

    poll: tuple[float, ...] = (1.0, 0.5, 0.5, 0.5, 1, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300)
    retry_initial: float = 1.0
    retry_cap: float = 300.0

    def poll_delay(self, attempts: int) -> float:
        return self.poll[min(max(attempts, 0), len(self.poll) - 1)]

    def retry_delay(self, attempts: int) -> float:
        base = min(self.retry_cap, self.retry_initial * 2 ** min(max(attempts, 0), 20))
        return base * random.uniform(0.8, 1.2)


@dataclass(frozen=True)
class Outcome:
    """What one talk did, for the worker's counters and the CLI: the row's state after it."""

    red: bool
    row_id: int
    order_no: str
    call: str
    answer: str
    state: str


class Sender:
    """Works on claimed rows for one worker. `provider` is the port; the row's claim is the worker's."""

    def __init__(self, provider: InvoiceProvider, factory: sessionmaker[Session], worker: str,
                 backoff: Backoff | None = None, after_call: Callable[[Claim, str], None] | None = None) -> None:
        self.provider = provider
        self.factory = factory
        self.worker = worker
        self.backoff = backoff or Backoff()
        self.after_call = after_call  # tests: runs between the provider's answer and storing it

    # --- entry ---------------------------------------------------------------------------------
    def work(self, claim: Claim, *, query_after_send: bool = False) -> Outcome:
        if claim.action == "send":
            outcome = self._send(claim)
            if query_after_send and outcome.state in ("issuing", "unknown"):
                return self._query(claim)
            return outcome
        return self._query(claim)

    # --- talking --------------------------------------------------------------------------------
    def _send(self, claim: Claim) -> Outcome:
        try:
            with unit_of_work(self.factory) as session:
                payload: Any = (red_request(session, claim.row_id) if claim.red else blue_order(session, claim.row_id))
        except (ValueError, TypeError) as exc:  # our stored data does not make a valid order: say so, stop
            return self._store(claim, "request", "invalid", {"reason": str(exc)[:200]}, None)
        call = "red_letter" if claim.red else "request"
        try:
            result = self.provider.red_letter(payload) if claim.red else self.provider.request_invoice(payload)
        except InvoiceProviderUnreachable as exc:
            return self._store(claim, call, "unreachable", _err(exc), None)
        except NOT_ACCEPTED as exc:
            return self._store(claim, call, "not_accepted", _err(exc), None)
        except InvoiceRejected as exc:
            return self._store(claim, call, "rejected", _err(exc), None)
        if self.after_call is not None:
            self.after_call(claim, call)
        if result.status is InvoiceStatus.DUPLICATE:
            self._store(claim, call, str(result.status), _result(result), result, keep_claim=True)
            return self._query(claim)
        return self._store(claim, call, str(result.status), _result(result), result)

    def _query(self, claim: Claim) -> Outcome:
        try:
            result = self.provider.query(claim.order_no)
        except (InvoiceProviderUnreachable, InvoiceRejected) as exc:
            return self._store(claim, "query", "unreachable", _err(exc), None)
        except NOT_ACCEPTED as exc:
            return self._store(claim, "query", "not_accepted", _err(exc), None)
        if self.after_call is not None:
            self.after_call(claim, "query")
        if result.status is InvoiceStatus.SEAL_FAILED:
            return self._seal_failed(claim, result)
        return self._store(claim, "query", str(result.status), _result(result), result)

    def _seal_failed(self, claim: Claim, result: InvoiceResult) -> Outcome:
        with unit_of_work(self.factory) as session:
            used = reissues_today(session, claim.order_no)
        if used >= REISSUES_PER_DAY:
            return self._store(claim, "query", "seal_failed_wait", _result(result), result)
        self._store(claim, "query", str(result.status), _result(result), result, keep_claim=True)
        try:
            again = self.provider.reissue(claim.order_no)
        except InvoiceProviderUnreachable as exc:
            return self._store(claim, "reissue", "unreachable", _err(exc), None)
        except (InvoiceRejected, *NOT_ACCEPTED) as exc:
            return self._store(claim, "reissue", "not_accepted", _err(exc), None)
        return self._store(claim, "reissue", str(again.status), _result(again), again)

    # --- storing --------------------------------------------------------------------------------
    def _store(self, claim: Claim, call: str, answer: str, detail: dict[str, Any], result: InvoiceResult | None,
               *, keep_claim: bool = False) -> Outcome:
        with unit_of_work(self.factory) as session:
            model = RedLetter if claim.red else InvoiceRequest
            row = session.scalars(select(model).where(model.id == claim.row_id).with_for_update()).one()
            now = db_now(session)
            session.add(InvoiceAnswer(request_id=row.request_id if claim.red else row.id,
                                      red_letter_id=row.id if claim.red else None, order_no=claim.order_no, call=call,
                                      outcome=answer[:24], detail=json.dumps(detail, ensure_ascii=False, default=str),
                                      worker=self.worker, at=now))
            if row.order_no == claim.order_no and row.state in ("queued", "sending", "issuing", "unknown"):
                self._apply(session, row, claim, answer, result, now, str(detail.get("reason", "")))
            if not keep_claim and row.claimed_by == self.worker:
                row.claimed_by, row.claimed_until = "", None
            session.flush()
            return Outcome(claim.red, row.id, claim.order_no, call, answer, row.state)

    def _apply(self, session: Session, row: Any, claim: Claim, answer: str, result: InvoiceResult | None,
               now: datetime, reason: str) -> None:
        """Move the row on. `attempts` counts the talks in the row's current state (a send counts as queued), so
        the back-off grows while nothing changes and starts again from the first step when something does."""
        start = "queued" if row.state == "sending" else row.state
        seen_in_state = row.attempts

        def settle(state: str, wait: str = "") -> None:
            row.state = state
            row.attempts = seen_in_state + 1 if state == start else 1
            step = row.attempts - 1
            if wait == "retry":
                _later(row, now, self.backoff.retry_delay(step))
            elif wait == "poll":
                _later(row, now, self.backoff.poll_delay(step))
            elif wait == "now":
                _later(row, now, 0)

        if answer == "unreachable":  # a send: perhaps received, ask about it; a query: ask again later
            settle("unknown" if start == "queued" else start, "retry")
            return
        if answer == "not_accepted":  # rate limit, credentials: a send was not taken; a query was not answered
            settle(start, "retry")
            return
        if answer in ("rejected", "invalid"):
            self._failed(session, row, claim, reason or answer, now)
            return
        if answer == "seal_failed_wait":
            settle("issuing")
            _later(row, now, _seconds_to_next_site_day(now))
            return
        status = InvoiceStatus(answer)
        if status is InvoiceStatus.DUPLICATE:
            settle("issuing")  # the query that follows right away says what the provider holds
            return
        if status in (InvoiceStatus.ACCEPTED, InvoiceStatus.ISSUING, InvoiceStatus.SEAL_FAILED):
            settle("issuing", "poll")
            return
        if status is InvoiceStatus.NOT_FOUND:
            if start == "issuing" and seen_in_state < len(self.backoff.poll):
                settle("issuing", "poll")  # it accepted the order: not listed yet (providers can lag); ask again
                return
            settle("queued", "now")  # not received (or lost): send again under the same number; a DUPLICATE
            return  # answer then says it had arrived after all, and the invoice is fetched
        if status is InvoiceStatus.FAILED:
            self._failed(session, row, claim, result.reason if result else "", now)
            return
        assert result is not None and status is InvoiceStatus.ISSUED
        settle("issued")
        row.invoice_no, row.qr_payload, row.pdf_url = result.invoice_no, result.qr_payload[:600], result.pdf_url[:500]
        row.issued_at, row.next_attempt_at = result.issued_at or now, None
        if claim.red:
            audit.record(session, f"invoice:{self.worker}"[:80], "invoice.red_letter_issued", row.order_no,
                         invoice_no=row.invoice_no, total_fen=row.total_fen)
            red_letters.red_issued(session, row)
            return
        row.serial_no = result.serial_no[:40]
        row.updated_at = now
        audit.record(session, f"invoice:{self.worker}"[:80], "invoice.issued", row.order_no,
                     invoice_no=row.invoice_no, total_fen=row.total_fen)
        if row.reverse_reason:  # voided while the provider held it: reverse it now
            red_letters.file_red_letter(session, row, reason=RedLetterReason(row.reverse_reason),
                                        actor=row.reverse_actor or "kiosk", now=now)

    def _failed(self, session: Session, row: Any, claim: Claim, reason: str, now: datetime) -> None:
        row.failure_reason, row.next_attempt_at = (reason or "failed")[:200], None
        if not claim.red and row.reverse_reason:  # voided meanwhile: nothing was issued, nothing to reverse
            row.state = "failed"
            red_letters.cancel(session, row, actor=row.reverse_actor or "kiosk",
                               why=f"receipt voided; the provider failed it: {reason}"[:200], now=now)
            return
        row.state = "failed"
        if not claim.red:
            row.updated_at = now
        audit.record(session, f"invoice:{self.worker}"[:80],
                     "invoice.red_letter_failed" if claim.red else "invoice.failed", row.order_no, reason=reason[:200])


def _later(row: Any, now: datetime, seconds: float) -> None:
    row.next_attempt_at = now + timedelta(seconds=max(0.0, seconds))


def _seconds_to_next_site_day(now: datetime) -> float:
    local = site_clock.to_site(now)
    _, end = site_clock.day_bounds(local.date())
    return max(60.0, (end - now).total_seconds() + 60)


def _err(exc: KioskError) -> dict[str, Any]:
    return {"code": exc.code, "reason": str(exc.params.get("reason", exc.detail))[:200],
            "provider_code": str(exc.params.get("provider_code", ""))}


def _result(result: InvoiceResult) -> dict[str, Any]:
    return {k: v for k, v in (("status", str(result.status)), ("serial_no", result.serial_no),
                              ("invoice_no", result.invoice_no), ("reason", result.reason),
                              ("total_fen", result.total_fen)) if v not in ("", 0)}


def reissues_today(session: Session, order_no: str) -> int:
    start, end = site_clock.day_bounds(site_clock.site_today())
    return int(session.scalar(select(func.count()).select_from(InvoiceAnswer)
                              .where(InvoiceAnswer.order_no == order_no, InvoiceAnswer.call == "reissue",
                                     InvoiceAnswer.at >= start, InvoiceAnswer.at < end)) or 0)


# --- what is sent, built from the stored rows -----------------------------------------------------
def _line(row: InvoiceLineRecord) -> InvoiceLine:
    return InvoiceLine(fee_kind=row.fee_kind, goods_name=row.goods_name, tax_code=row.tax_code,
                       rate_permille=row.rate_permille, policy=TaxPolicy(row.policy), quantity=row.quantity,
                       tax_included_fen=row.included_fen, tax_excluded_fen=row.excluded_fen, tax_fen=row.tax_fen)


def blue_order(session: Session, request_id: int) -> InvoiceOrder:
    request = session.get(InvoiceRequest, request_id)
    assert request is not None
    lines = session.scalars(select(InvoiceLineRecord).where(InvoiceLineRecord.request_id == request.id)
                            .order_by(InvoiceLineRecord.position)).all()
    receipt = session.get(Receipt, request.receipt_id)
    buyer = InvoiceBuyer(BuyerKind(request.buyer_kind), request.buyer_name, request.buyer_tax_id, request.buyer_phone,
                         request.buyer_email)
    number = receipts.format_number(receipt.number) if receipt else ""
    return InvoiceOrder(order_no=request.order_no, buyer=buyer, lines=tuple(_line(r) for r in lines),
                        ordered_at=request.created_at, remark=f"No. {number}" if number else "")


def red_request(session: Session, red_id: int) -> RedLetterRequest:
    red = session.get(RedLetter, red_id)
    assert red is not None
    request = session.get(InvoiceRequest, red.request_id)
    assert request is not None
    lines: tuple[InvoiceLine, ...] = ()
    if not red.whole:
        rows = session.scalars(select(InvoiceLineRecord)
                               .join(RedLetterLine, RedLetterLine.line_id == InvoiceLineRecord.id)
                               .where(RedLetterLine.red_letter_id == red.id)
                               .order_by(InvoiceLineRecord.position)).all()
        lines = tuple(_line(r) for r in rows)
    return RedLetterRequest(order_no=red.order_no, original_invoice_no=request.invoice_no,
                            original_order_no=request.order_no, reason=RedLetterReason(red.reason), lines=lines)
