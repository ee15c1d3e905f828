"""The states of an invoice request and of a red letter, the moves between them, and their labels.

    queued ──claim──> sending ──accepted──> issuing ──query──> issued ──red letter──> red_lettered
       ^                 │ no answer (timeout, crash)            │
       │                 v                                       └──> failed (the provider's reason)
       └──not_found── unknown ──query──> issuing / issued / failed        │ staff correct and retry
    cancelled: a void before the provider issued it (queued, failed; or one that fails after the void)

`unknown` is resolved only by querying the SAME order number; the provider answering "not found" is the one
thing that makes sending it again safe (and a "duplicate" answer then means: fetch what it holds).
"""
from __future__ import annotations

from enum import StrEnum

from kiosk.i18n import N_
from kiosk.ports import RedLetterReason


class InvoiceState(StrEnum):
    QUEUED = "queued"  # stored, not (yet) known to the provider
    SENDING = "sending"  # a worker is sending it now
    ISSUING = "issuing"  # the provider accepted it; the bureau's result comes later
    UNKNOWN = "unknown"  # sent, answer lost (timeout, crash): ask the provider about this order number
    ISSUED = "issued"
    FAILED = "failed"  # the provider's reason in failure_reason; staff correct the title and retry
    RED_LETTERED = "red_lettered"  # wholly reversed by a red-letter invoice
    CANCELLED = "cancelled"  # voided before it was issued: no invoice exists


# Waiting on the provider: what the worker picks up when due.
WORKABLE = (InvoiceState.QUEUED, InvoiceState.SENDING, InvoiceState.ISSUING, InvoiceState.UNKNOWN)
# Not yet issued, not given up: "pending" in settlement and reconciliation.
PENDING = WORKABLE
ENDED = (InvoiceState.ISSUED, InvoiceState.FAILED, InvoiceState.RED_LETTERED, InvoiceState.CANCELLED)

STATE_LABELS: dict[InvoiceState, str] = {
    InvoiceState.QUEUED: N_("Waiting to be sent"),
    InvoiceState.SENDING: N_("Being sent"),
    InvoiceState.ISSUING: N_("Being issued"),
    InvoiceState.UNKNOWN: N_("Being checked with the tax service"),
    InvoiceState.ISSUED: N_("Issued"),
    InvoiceState.FAILED: N_("Failed"),
    InvoiceState.RED_LETTERED: N_("Reversed (red letter)"),
    InvoiceState.CANCELLED: N_("Cancelled"),
}

# The moves a request may make; anything else is a bug (InvalidMove).
MOVES: dict[InvoiceState, tuple[InvoiceState, ...]] = {
    InvoiceState.QUEUED: (InvoiceState.SENDING, InvoiceState.CANCELLED),
    InvoiceState.SENDING: (InvoiceState.ISSUING, InvoiceState.ISSUED, InvoiceState.UNKNOWN, InvoiceState.FAILED,
                           InvoiceState.QUEUED),
    InvoiceState.ISSUING: (InvoiceState.ISSUED, InvoiceState.FAILED, InvoiceState.ISSUING, InvoiceState.QUEUED),
    InvoiceState.UNKNOWN: (InvoiceState.ISSUING, InvoiceState.ISSUED, InvoiceState.FAILED, InvoiceState.QUEUED,
                           InvoiceState.UNKNOWN),
    InvoiceState.ISSUED: (InvoiceState.RED_LETTERED,),
    InvoiceState.FAILED: (InvoiceState.QUEUED, InvoiceState.CANCELLED, InvoiceState.UNKNOWN),  # unknown: staff's
    # retry found the provider holding the old order again (kiosk.invoices.requests.reopen)
    InvoiceState.RED_LETTERED: (),
    InvoiceState.CANCELLED: (),
}


class InvalidMove(RuntimeError):
    """A state change the machine does not allow (a programming error, not a user's)."""


def check_move(old: str, new: InvoiceState) -> None:
    if new not in MOVES[InvoiceState(old)]:
        raise InvalidMove(f"invoice state {old} -> {new}")


class RedState(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    ISSUING = "issuing"
    UNKNOWN = "unknown"
    ISSUED = "issued"
    FAILED = "failed"


RED_WORKABLE = (RedState.QUEUED, RedState.SENDING, RedState.ISSUING, RedState.UNKNOWN)

RED_REASON_LABELS: dict[RedLetterReason, str] = {  # 退货 / 开票有误 / 服务中止 / 折让
    RedLetterReason.RETURN: N_("Goods returned"),
    RedLetterReason.WRONG: N_("Invoice issued in error"),
    RedLetterReason.SERVICE_STOPPED: N_("Service stopped"),
    RedLetterReason.DISCOUNT: N_("Price allowance"),
}
