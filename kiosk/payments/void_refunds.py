"""A void of a QR payment gives the money back at the gateway, on the network that took it.

`VoidRefunds.void` (the staff page's void, through the facade):
1. One transaction: the void as for any payment (`kiosk.services.voids.void_receipt`: the spending reversed, the
   payment VOIDED, the void receipt) and, for each paid gateway order of the payment, the refund's intent: its
   refund id (`<order id>-void`) stored on the order record (state `void_pending`) and the REFUND entry
   household credit -> gateway clearing (memo `gateway refund <id>`), so the money the void returned to the
   household's credit leaves it in the same transaction (balanced, never below zero, never spent meanwhile).
2. The refund call on the order's own network, with that id (repeating it moves no money twice).
3. The outcome, from the answer or, when the call failed, from the refund query (WeChat: the refund by its id;
   Alipay and the sandbox, which have none here: the same refund request again, idempotent by its id): done -> record `void_refunded`; refused -> the REFUND entry is
   reversed (the amount stays the household's account credit), record `void_refused`, and the clerk is told
   (E6313); no answer -> the record stays `void_pending`, the clerk is told (E6314) and `recover()` asks
   again (start-up, after a database outage) until the network answers.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kiosk.domain.terms import AccountKind, EntryKind, PaymentMethod
from kiosk.errors import GatewayError, VoidRefundPending, VoidRefundRefused
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import GatewayOrderRecord, JournalEntry, Payment
from kiosk.ports import PaymentGateway
from kiosk.services import audit, ledger, voids
from kiosk.services.receipts import Till

log = logging.getLogger(__name__)

PENDING, DONE, REFUSED = "void_pending", "void_refunded", "void_refused"  # gateway_orders.state: 16 chars
REFUND_PENDING_NOTICE = VoidRefundPending.message
REFUND_REFUSED_NOTICE = VoidRefundRefused.message


@dataclass(frozen=True)
class VoidOutcome:
    result: voids.VoidResult
    refunds: tuple[tuple[str, str], ...]  # (refund id, record state) per gateway order refunded
    notice: str = ""  # a msgid for the clerk when a refund is not done (pending or refused); "" when all done


def void_refund_id(order_id: str) -> str:
    return f"{order_id}-void"


class VoidRefunds:
    """Voids with the gateway refund. `gateways`: network -> its gateway (the runtime's, in configured order)."""

    def __init__(self, gateways: Mapping[str, PaymentGateway], factory: sessionmaker[Session], till: Till) -> None:
        self.gateways = dict(gateways)
        self.factory = factory
        self.till = till

    def void(self, *, number: int, reason: str, actor: str, language: str, **extra: str) -> VoidOutcome:
        with unit_of_work(self.factory) as session:
            res = voids.void_receipt(session, self.till, number=number, reason=reason, actor=actor,
                                     language=language, refund_at_gateway=True, **extra)
            todo = [] if res.replayed else self._intents(session, res.payment_reference, actor)
        outcomes = tuple((refund_id, self._settle(order_id, refund_id)) for order_id, refund_id in todo)
        states = {state for _, state in outcomes}
        notice = REFUND_REFUSED_NOTICE if REFUSED in states else REFUND_PENDING_NOTICE if PENDING in states else ""
        return VoidOutcome(res, outcomes, notice)

    def _intents(self, session: Session, reference: str, actor: str) -> list[tuple[str, str]]:
        """In the void's transaction: the refund id stored and the money out of the household's credit."""
        payment = session.scalars(select(Payment).where(Payment.reference == reference)).one()
        if payment.method != PaymentMethod.QR:
            return []
        records = session.scalars(select(GatewayOrderRecord).where(GatewayOrderRecord.payment_id == payment.id,
                                                                   GatewayOrderRecord.state == "paid")
                                  .order_by(GatewayOrderRecord.id).with_for_update()).all()
        out = []
        credit = ledger.account(session, AccountKind.CREDIT, household_id=payment.household_id)
        clearing = ledger.account(session, AccountKind.GATEWAY_CLEARING)
        for record in records:
            record.refund_id = void_refund_id(record.order_id)
            record.state = PENDING
            ledger.spend_liability(session, EntryKind.REFUND, credit, clearing, record.amount_fen,
                                   payment_id=payment.id, kiosk_id=self.till.kiosk_id,
                                   memo=f"gateway refund {record.refund_id}")
            audit.record(session, actor, "payment.void_refund_requested", payment.reference,
                         order_id=record.order_id, refund_id=record.refund_id, amount_fen=record.amount_fen,
                         network=record.network)
            out.append((record.order_id, record.refund_id))
        return out

    # --- the call and its outcome --------------------------------------------------------------------
    def _gateway(self, network: str) -> PaymentGateway | None:
        if network in self.gateways:
            return self.gateways[network]
        return next(iter(self.gateways.values()), None) if not network else None

    def _settle(self, order_id: str, refund_id: str) -> str:
        with unit_of_work(self.factory) as session:
            record = _record(session, order_id)
            network, amount = record.network, record.amount_fen
        gateway = self._gateway(network)
        if gateway is None:
            log.error("void refund %s: network %r is not configured here; left pending", refund_id, network)
            return PENDING
        refused = ""
        try:
            gateway.refund(order_id, refund_id, amount)
            outcome = "done"
        except GatewayError as exc:
            log.warning("void refund %s: %s; asking the gateway", refund_id, exc)
            refused = str(exc) if "refused" in str(exc) else ""
            outcome = refund_outcome(gateway, order_id, refund_id, amount)
            if outcome == "absent" and not refused:
                outcome = "unknown"  # the call did not arrive: send it again later, never decide it failed
        if outcome == "done":
            return self._finish(order_id, DONE)
        if outcome == "absent":
            return self._finish(order_id, REFUSED, refused)
        return PENDING

    def _finish(self, order_id: str, state: str, why: str = "") -> str:
        with unit_of_work(self.factory) as session:
            record = _record(session, order_id, lock=True)
            if record.state != PENDING:
                return record.state
            record.state = state
            if state == REFUSED:  # the money stays the household's credit: the REFUND entry reversed
                entry = session.scalars(select(JournalEntry).where(
                    JournalEntry.payment_id == record.payment_id,
                    JournalEntry.memo == f"gateway refund {record.refund_id}")).one()
                ledger.reverse(session, entry, memo=f"refund {record.refund_id} refused", kiosk_id=self.till.kiosk_id)
            audit.record(session, "gateway", f"payment.{state}", record.order_id, refund_id=record.refund_id,
                         reason=why[:200])
            return state

    # --- start-up ------------------------------------------------------------------------------------
    def recover(self) -> list[tuple[str, str]]:
        """Every void refund still pending: sent again (same id) and settled once the network answers."""
        with unit_of_work(self.factory) as session:
            todo = [(r.order_id, r.refund_id) for r in session.scalars(
                select(GatewayOrderRecord).where(GatewayOrderRecord.state == PENDING).order_by(GatewayOrderRecord.id))]
        return [(refund_id, self._settle(order_id, refund_id)) for order_id, refund_id in todo]


def refund_outcome(gateway: PaymentGateway, order_id: str, refund_id: str, amount_fen: int) -> str:
    """"done", "absent" (the network has no such refund) or "unknown" (it could not be asked)."""
    status_of = getattr(gateway, "refund_status", None)
    try:
        if status_of is not None:  # WeChat Pay's refund query, by the refund's own id
            status = str(status_of(refund_id))
            return "done" if status in ("SUCCESS", "PROCESSING") else "absent"
        # Alipay, the sandbox: a refund request with the same id is idempotent, so asking again is the query
        # (an earlier success answers success again and moves nothing; a refused one is refused again)
        gateway.refund(order_id, refund_id, amount_fen)
        return "done"
    except GatewayError as exc:
        text = str(exc)
        return "absent" if "NOT_EXIST" in text or "NOT_FOUND" in text or "refused" in text else "unknown"


def _record(session: Session, order_id: str, lock: bool = False) -> GatewayOrderRecord:
    query = select(GatewayOrderRecord).where(GatewayOrderRecord.order_id == order_id)
    return session.scalars(query.with_for_update() if lock else query).one()


__all__ = ["DONE", "PENDING", "REFUSED", "VoidOutcome", "VoidRefunds", "refund_outcome", "void_refund_id"]
