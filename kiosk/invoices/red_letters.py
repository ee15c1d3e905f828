"""Red letters (红字发票): an issued invoice is never voided, only reversed; and what a void of a paid receipt does.

A red letter reverses whole lines of the blue invoice, in the blue invoice's line order: all of them (a void, a
wrong title) or some (a partial void or return). It has its own order number, stored before it is sent, and the
worker sends and resolves it exactly as a blue one. Once issued red letters cover every line, the blue request
is RED_LETTERED.

A void of a paid receipt (kiosk.services.voids) calls `on_receipt_voided` in its own transaction:
- queued or failed (the provider holds nothing): the request is cancelled;
- sending, issuing or unknown (the provider may hold it): the reason and staff identity are kept on the request;
  the worker cancels it if the provider fails it, or files the red letter the moment it is issued;
- issued: the red letter is filed now (queued for the worker), with the reason code and the staff identity.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.errors import InvalidEntry, InvoiceWrongState, NotFound
from kiosk.invoices import orders
from kiosk.invoices.states import InvoiceState, RedState, check_move
from kiosk.persistence.models import InvoiceLineRecord, InvoiceRequest, RedLetter, RedLetterLine, utcnow
from kiosk.ports import RedLetterReason
from kiosk.services import audit, receipts

HELD_BY_PROVIDER = (InvoiceState.SENDING, InvoiceState.ISSUING, InvoiceState.UNKNOWN)


def parse_reason(value: str | int | RedLetterReason) -> RedLetterReason:
    """'1'..'4' (退货, 开票有误, 服务中止, 折让), as staff type it."""
    try:
        return RedLetterReason(str(value).strip())
    except ValueError:
        raise InvalidEntry(f"red-letter reason {value!r}", field="reason 1-4") from None


def reversed_line_ids(session: Session, request_id: int) -> set[int]:
    """Lines already covered by a red letter that has not failed."""
    return set(session.scalars(select(RedLetterLine.line_id).join(RedLetter, RedLetter.id == RedLetterLine.red_letter_id)
                               .where(RedLetter.request_id == request_id, RedLetter.state != str(RedState.FAILED))))


def file_red_letter(session: Session, request: InvoiceRequest, *, reason: RedLetterReason, actor: str,
                    positions: Sequence[int] | None = None, void_receipt_id: int | None = None,
                    now: datetime | None = None) -> RedLetter:
    """Queue a red letter for an issued request: the lines at `positions` (all not yet reversed when None), in the
    blue invoice's order. Refuses a request not issued, unknown positions and lines already reversed."""
    now = now or utcnow()
    if request.state != InvoiceState.ISSUED:
        raise InvoiceWrongState(f"request {request.id} is {request.state}", state=request.state)
    lines = session.scalars(select(InvoiceLineRecord).where(InvoiceLineRecord.request_id == request.id)
                            .order_by(InvoiceLineRecord.position)).all()
    done = reversed_line_ids(session, request.id)
    if positions is None:
        chosen = [line for line in lines if line.id not in done]
    else:
        wanted = set(positions)
        known = {line.position for line in lines}
        if not wanted or wanted - known:
            raise InvalidEntry(f"lines {sorted(wanted - known) or '(none)'} of invoice {request.invoice_no}",
                               field="lines")
        chosen = [line for line in lines if line.position in wanted]
        if any(line.id in done for line in chosen):
            raise InvoiceWrongState(f"a line of {request.invoice_no} is already reversed", state=request.state)
    if not chosen:
        raise InvoiceWrongState(f"every line of {request.invoice_no} is already reversed", state=request.state)
    site_code = receipts.site_of(session, request.site_id).code
    red = RedLetter(request_id=request.id, order_no=orders.new_order_no(session, site_code, True, now),
                    reason=str(reason), requested_by=actor[:80], void_receipt_id=void_receipt_id,
                    whole=len(chosen) == len(lines) and not done, total_fen=sum(line.included_fen for line in chosen),
                    state=str(RedState.QUEUED), next_attempt_at=now, created_at=now)
    session.add(red)
    session.flush()
    session.add_all([RedLetterLine(red_letter_id=red.id, line_id=line.id) for line in chosen])
    session.flush()
    audit.record(session, actor, "invoice.red_letter_requested", red.order_no, invoice_no=request.invoice_no,
                 reason=str(reason), total_fen=red.total_fen, lines=[line.position for line in chosen])
    return red


def red_issued(session: Session, red: RedLetter) -> None:
    """After a red letter is issued: the blue request is RED_LETTERED once issued red letters cover every line."""
    request = session.get(InvoiceRequest, red.request_id)
    if request is None or request.state != InvoiceState.ISSUED:
        return
    all_lines = set(session.scalars(select(InvoiceLineRecord.id).where(InvoiceLineRecord.request_id == request.id)))
    issued = set(session.scalars(select(RedLetterLine.line_id).join(RedLetter, RedLetter.id == RedLetterLine.red_letter_id)
                                 .where(RedLetter.request_id == request.id, RedLetter.state == str(RedState.ISSUED))))
    if all_lines <= issued:
        check_move(request.state, InvoiceState.RED_LETTERED)
        request.state = str(InvoiceState.RED_LETTERED)
        request.updated_at = utcnow()


def cancel(session: Session, request: InvoiceRequest, *, actor: str, why: str, now: datetime | None = None) -> None:
    now = now or utcnow()
    check_move(request.state, InvoiceState.CANCELLED)
    request.state, request.updated_at, request.next_attempt_at = str(InvoiceState.CANCELLED), now, None
    request.claimed_by, request.claimed_until = "", None
    audit.record(session, actor, "invoice.cancelled", request.order_no, why=why)


def on_receipt_voided(session: Session, receipt_id: int, *, actor: str, reason: RedLetterReason | str,
                      void_receipt_id: int | None = None, positions: Sequence[int] | None = None,
                      now: datetime | None = None) -> list[str]:
    """What a void of the paid receipt does to its invoice requests (see the module's doc); returns what was done,
    one word per request: cancelled / reverse_when_issued / red_letter."""
    now = now or utcnow()
    reason = parse_reason(reason)
    done: list[str] = []
    requests = session.scalars(select(InvoiceRequest).where(InvoiceRequest.receipt_id == receipt_id)
                               .order_by(InvoiceRequest.id).with_for_update()).all()
    for request in requests:
        state = InvoiceState(request.state)
        if state in (InvoiceState.QUEUED, InvoiceState.FAILED):
            cancel(session, request, actor=actor, why="receipt voided before the invoice was issued", now=now)
            done.append("cancelled")
        elif state in HELD_BY_PROVIDER:
            request.reverse_reason, request.reverse_actor, request.updated_at = str(reason), actor[:80], now
            audit.record(session, actor, "invoice.reverse_when_issued", request.order_no, reason=str(reason))
            done.append("reverse_when_issued")
        elif state == InvoiceState.ISSUED:
            if len(reversed_line_ids(session, request.id)) < _line_count(session, request.id):
                file_red_letter(session, request, reason=reason, actor=actor, positions=positions,
                                void_receipt_id=void_receipt_id, now=now)
                done.append("red_letter")
    session.flush()
    return done


def _line_count(session: Session, request_id: int) -> int:
    return len(session.scalars(select(InvoiceLineRecord.id).where(InvoiceLineRecord.request_id == request_id)).all())


def get_red(session: Session, red_id: int) -> RedLetter:
    found = session.get(RedLetter, red_id)
    if found is None:
        raise NotFound(f"red letter {red_id}")
    return found
