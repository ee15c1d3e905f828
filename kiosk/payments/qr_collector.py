"""`QrCollector`: scan-to-pay for one payment, with the gateway order on record before the gateway hears of it.

`collect` writes a `GatewayOrderRecord` (state `pending`) in its own transaction, then runs a
`QrSession`: creates the order, reports `Stage.SCAN_QR` (code URL, seconds left), polls with back-off
and takes verified notifications through `handle_notification` (give that to the runtime's
`NotificationListener`). Paid: `payments.record_gateway_paid` (idempotent on the gateway's txn) and the
record turns `paid`, in one transaction. Cancel / timeout close the order at the gateway before
`PaymentCancelled` / `PaymentExpired` is raised. A payment that lands after the kiosk gave up is
refunded at the gateway (or credited to the household with `late_action=LateAction.CREDIT`) and put
on the ledger either way. A notification with a bad signature is refused (BadSignature -> 401) and
leaves an audit row. `recover()` settles every order still open on record (start-up, or now and then).

Record states: pending (open), given_up (close not confirmed), paid, closed, expired, refunded,
refund_pending (refund call failed; retried by recover), credited (late money kept as credit),
void (the gateway never created it).
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from kiosk.domain.terms import PaymentStatus
from kiosk.errors import BadSignature, GatewayError, NotFound, PaymentCancelled, PaymentExpired
from kiosk.payments.control import PaymentControl, PaymentProgress, Stage
from kiosk.payments.qr_session import (
    Backoff,
    LateAction,
    LatePayment,
    QrSession,
    QrState,
    refund_late_payment,
    settle_open_order,
)
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import GatewayOrderRecord, Payment, utcnow
from kiosk.ports import OrderState, PaymentGateway
from kiosk.services import audit, payments
from kiosk.services.receipts import Till

log = logging.getLogger(__name__)

OPEN_STATES = ("pending", "given_up", "refund_pending")
MONEY_STATES = ("paid", "refunded", "credited")


@dataclass(frozen=True)
class OrderSettlement:
    """What recover() did with one open order: its record state afterwards."""

    order_id: str
    payment_id: int
    state: str
    amount_fen: int


class QrCollector:
    """QR payments at one kiosk. `collect` blocks its worker thread; `handle_notification` runs on the listener's."""

    def __init__(self, gateway: PaymentGateway, factory: sessionmaker[Session], till: Till, *,
                 timeout_s: float = 120.0, backoff: Backoff = Backoff(), expires_in_s: int | None = None,
                 late_action: LateAction = LateAction.REFUND, close_grace_s: float = 10.0,
                 clock: Callable[[], float] = time.monotonic, network: str = "",
                 adopt_unlabelled: bool = True) -> None:
        self.gateway = gateway
        # The network this collector's gateway belongs to, written on every order it makes; recover() asks its
        # gateway only about its own network's orders (and, with adopt_unlabelled, those from before 0013).
        self.network = network
        self.adopt_unlabelled = adopt_unlabelled
        self.factory = factory
        self.till = till
        self.timeout_s = timeout_s
        self.backoff = backoff
        self.expires_in_s = expires_in_s
        self.late_action = LateAction(late_action)
        self.close_grace_s = close_grace_s
        self._clock = clock
        self._active: dict[str, QrSession] = {}
        self._waiters: dict[str, PaymentControl] = {}  # order id -> the control its collect() waits on (wake-up)
        self._lock = threading.Lock()
        self._pause = threading.Event()  # never set: bounded waits while retrying a close

    @property
    def actor(self) -> str:
        return f"kiosk:{self.till.kiosk_code}"

    def as_move_money(self, control: PaymentControl) -> Callable[[Payment], None]:
        """The `move_money` callable the payment services take (they hand over the Payment row)."""
        def move_money(payment: Payment) -> None:
            self.collect(payment.id, control)
        return move_money

    # --- one payment ---------------------------------------------------------------------------------
    def collect(self, payment_id: int, control: PaymentControl) -> int:
        """Wait for the gateway to say the payment is paid; returns what the payment has received in total."""
        with unit_of_work(self.factory) as session:
            payment = _payment(session, payment_id)
            amount = payments.other_part(payment)  # split tender: account credit pays the rest
            due = amount - payment.received_fen
            received, reference = payment.received_fen, payment.reference
            if due <= 0:
                return received
            n = session.scalar(select(func.count()).select_from(GatewayOrderRecord)
                               .where(GatewayOrderRecord.payment_id == payment_id)) or 0
            order_id = f"{reference}-{n + 1}"
            session.add(GatewayOrderRecord(payment_id=payment_id, order_id=order_id, amount_fen=due, state="pending",
                                           network=self.network, kind="native"))
        control.report(PaymentProgress(Stage.PREPARING, amount, received))
        qr = QrSession(self.gateway, order_id, due, f"{self.till.kiosk_code} {reference}",
                       lambda paid: self._record_paid(order_id, paid.amount_fen, paid.gateway_txn),
                       lambda late: self._record_late(order_id, late), timeout_s=self.timeout_s,
                       expires_in_s=self.expires_in_s, backoff=self.backoff, late_action=self.late_action,
                       clock=self._clock)
        with self._lock:
            self._active[order_id] = qr
            self._waiters[order_id] = control
        try:
            return self._wait(qr, control, amount, received, reference)
        finally:
            with self._lock:
                self._active.pop(order_id, None)
                self._waiters.pop(order_id, None)

    def _wait(self, qr: QrSession, control: PaymentControl, amount: int, received: int, reference: str) -> int:
        view = qr.start()
        if view.state is QrState.UNAVAILABLE:
            # The create may still have reached the gateway: the record stays open for recover().
            raise GatewayError(f"creating order {qr.order_id} failed", reference=qr.order_id)
        self._update(qr.order_id, code_url=view.code_url)
        last: PaymentProgress | None = None
        while qr.state is QrState.WAITING:
            progress = PaymentProgress(Stage.SCAN_QR, amount, received, code_url=view.code_url,
                                       expires_in_s=view.seconds_left, message=view.message)
            if progress != last:
                control.report(progress)
                last = progress
            if control.wait_cancelled(min(qr.next_tick_in(), 0.25)):
                view = qr.cancel()
            else:
                view = qr.tick()
        deadline = self._clock() + self.close_grace_s
        while qr.state is QrState.GIVEN_UP and not qr.close_confirmed and self._clock() < deadline:
            self._pause.wait(min(max(qr.next_tick_in(), 0.05), 0.5))
            view = qr.tick()
        return self._finish(qr, control, amount, received, reference)

    def _finish(self, qr: QrSession, control: PaymentControl, amount: int, received: int, reference: str) -> int:
        view = qr.view()
        if qr.state is QrState.PAID:
            control.report(PaymentProgress(Stage.FINISHING, amount, received + qr.amount_fen, message=view.message,
                                           can_cancel=False))
            return received + qr.amount_fen
        final = {QrState.CANCELLED: "closed", QrState.EXPIRED: "expired"}.get(qr.state, "given_up")
        if qr.state is QrState.GIVEN_UP and qr.close_confirmed:
            final = "closed"
        self._update(qr.order_id, only_if=("pending",), state=final, closed_at=utcnow())
        control.report(PaymentProgress(Stage.SCAN_QR, amount, received, message=view.message,
                                       params=tuple(view.params), can_cancel=False))
        if qr.state is QrState.CANCELLED or (final == "closed" and control.cancelled):
            raise PaymentCancelled(f"{reference}: order {qr.order_id} closed", reference=reference)
        if qr.state is QrState.EXPIRED or final == "closed":
            raise PaymentExpired(f"{reference}: order {qr.order_id} expired and closed", reference=reference)
        raise GatewayError(f"order {qr.order_id}: close not confirmed ({qr.state})", reference=qr.order_id)

    # --- money sinks (the session's, and the ones recover() and late notifications use) ----------------
    def _record_paid(self, order_id: str, amount_fen: int, gateway_txn: str) -> bool:
        with unit_of_work(self.factory) as session:
            record = _locked_record(session, order_id)
            if record.state in MONEY_STATES:
                return False
            # with the credit account it lands on, and whether the transaction was entered already
            payment = payments.arriving_to(session, record.payment_id, gateway_txn=gateway_txn)
            payments.record_gateway_paid(session, self.till, payment, amount_fen, gateway_txn,
                                         network=record.network or self.network)
            record.state, record.gateway_txn, record.closed_at = "paid", gateway_txn, utcnow()
            audit.record(session, self.actor, "payment.gateway_paid", payment.reference, order_id=order_id,
                         amount_fen=amount_fen, gateway_txn=gateway_txn)
            return True

    def _record_late(self, order_id: str, late: LatePayment) -> None:
        with unit_of_work(self.factory) as session:
            record = _locked_record(session, order_id)
            if record.state in MONEY_STATES:
                return
            # with the credit account it lands on, and whether the transaction was entered already
            payment = payments.arriving_to(session, record.payment_id, gateway_txn=late.gateway_txn)
            record.gateway_txn = late.gateway_txn
            if late.action is LateAction.REFUND:
                payments.record_gateway_refund(session, self.till, payment, late.amount_fen, late.gateway_txn,
                                               late.refund_id)
                record.state = "refunded"
            elif late.action is LateAction.CREDIT:
                payments.record_gateway_paid(session, self.till, payment, late.amount_fen, late.gateway_txn,
                                             network=record.network or self.network)
                record.state = "credited"
                audit.record(session, self.actor, "payment.late_credited", payment.reference, order_id=order_id,
                             amount_fen=late.amount_fen, gateway_txn=late.gateway_txn)
            else:
                record.state = "refund_pending"
                audit.record(session, self.actor, "payment.late_refund_pending", payment.reference,
                             order_id=order_id, amount_fen=late.amount_fen, gateway_txn=late.gateway_txn)
            record.closed_at = record.closed_at or utcnow()
        log.warning("late payment on %s: %s", order_id, late.action)

    def _apply(self, order_id: str, state: OrderState, amount_fen: int, gateway_txn: str) -> str:
        """The gateway's word on an order nobody is waiting for: settle the record once."""
        with unit_of_work(self.factory) as session:
            record = _record(session, order_id)
            payment = _payment(session, record.payment_id)
            current, waiting = record.state, payment.status == PaymentStatus.INTENT
        if current in MONEY_STATES:
            return current
        if state is OrderState.PAID:
            if current == "pending" and waiting:
                self._record_paid(order_id, amount_fen, gateway_txn)  # the kiosk stopped while the person paid
            elif self.late_action is LateAction.CREDIT:
                self._record_late(order_id, LatePayment(order_id, amount_fen, gateway_txn, LateAction.CREDIT))
            else:
                self._record_late(order_id, refund_late_payment(self.gateway, order_id, amount_fen, gateway_txn))
        elif state is OrderState.REFUNDED and current == "refund_pending":
            self._record_late(order_id, refund_late_payment(self.gateway, order_id, amount_fen, gateway_txn))
        elif state in (OrderState.CLOSED, OrderState.EXPIRED) and current in ("pending", "given_up"):
            self._update(order_id, only_if=("pending", "given_up"), state=str(state), closed_at=utcnow())
        with unit_of_work(self.factory) as session:
            return _record(session, order_id).state

    # --- notifications -------------------------------------------------------------------------------
    def handle_notification(self, body: bytes, headers: Mapping[str, str]) -> None:
        """For the NotificationListener: verified notifications settle; forged ones raise BadSignature
        (the listener answers 401) after an audit row."""
        try:
            note = self.gateway.verify_notification(body, headers)
        except BadSignature as exc:
            self._audit_rejected(body, exc)
            raise
        with self._lock:
            qr, waiter = self._active.get(note.order_id), self._waiters.get(note.order_id)
        if qr is not None:
            try:
                qr.handle_notification(body, headers)
            finally:  # the waiting payment sees the news now, not on its next 0.25 s look
                if waiter is not None:
                    waiter.wake()
            return
        if note.state is not OrderState.PAID:
            return
        with unit_of_work(self.factory) as session:
            record = session.scalars(select(GatewayOrderRecord)
                                     .where(GatewayOrderRecord.order_id == note.order_id)).one_or_none()
            expected = record.amount_fen if record is not None else None
        if expected is None:
            log.error("paid notification for unknown order %s", note.order_id)
            return
        if note.amount_fen != expected:  # signed but odd: believe only the gateway's own answer
            order = self.gateway.query(note.order_id)
            self._apply(note.order_id, order.state, order.amount_fen, order.gateway_txn)
            return
        self._apply(note.order_id, OrderState.PAID, note.amount_fen, note.gateway_txn)

    def _audit_rejected(self, body: bytes, exc: BadSignature) -> None:
        try:
            data = json.loads(body)
            subject = str(data.get("order_id", ""))[:120] if isinstance(data, dict) else ""
        except ValueError:
            subject = ""
        log.warning("rejected a gateway notification for %r: %s", subject, exc)
        with unit_of_work(self.factory) as session:
            audit.record(session, "gateway", "gateway.notification_rejected", subject, reason=str(exc)[:200],
                         body_bytes=len(body))

    # --- start-up ------------------------------------------------------------------------------------
    def recover(self) -> list[OrderSettlement]:
        """Ask the gateway about every order still open on record and settle it (paid, closed, refunded).

        An order the gateway cannot be asked about now stays open for the next call.
        """
        with unit_of_work(self.factory) as session:
            rows = session.scalars(select(GatewayOrderRecord).where(GatewayOrderRecord.state.in_(OPEN_STATES))
                                   .where(GatewayOrderRecord.kind == "native").where(self._mine())
                                   .order_by(GatewayOrderRecord.id)).all()
            todo = [(r.order_id, r.payment_id, r.state, r.amount_fen, r.gateway_txn) for r in rows]
        with self._lock:
            busy = set(self._active)
        done: list[OrderSettlement] = []
        for order_id, payment_id, state, amount, txn in todo:
            if order_id in busy:
                continue
            try:
                if state == "refund_pending":
                    self._record_late(order_id, refund_late_payment(self.gateway, order_id, amount, txn))
                    new_state = self._state(order_id)
                else:
                    out = settle_open_order(self.gateway, order_id)
                    new_state = self._apply(order_id, out.state, out.amount_fen, out.gateway_txn)
            except GatewayError as exc:
                if "ORDER_NOT_FOUND" not in str(exc):
                    log.warning("order %s still open: %s", order_id, exc)
                    continue
                self._update(order_id, only_if=("pending", "given_up"), state="void", closed_at=utcnow())
                new_state = "void"
            done.append(OrderSettlement(order_id, payment_id, new_state, amount))
        return done

    # --- records -------------------------------------------------------------------------------------
    def _mine(self) -> Any:
        """The records of this collector's network (and the unlabelled ones from before migration 0013)."""
        column = GatewayOrderRecord.network
        return or_(column == self.network, column == "") if self.adopt_unlabelled else column == self.network

    def _state(self, order_id: str) -> str:
        with unit_of_work(self.factory) as session:
            return _record(session, order_id).state

    def _update(self, order_id: str, *, only_if: tuple[str, ...] | None = None, **values: object) -> None:
        with unit_of_work(self.factory) as session:
            query = update(GatewayOrderRecord).where(GatewayOrderRecord.order_id == order_id)
            if only_if is not None:
                query = query.where(GatewayOrderRecord.state.in_(only_if))
            session.execute(query.values(**values).execution_options(synchronize_session=False))


def _payment(session: Session, payment_id: int) -> Payment:
    payment = session.get(Payment, payment_id)
    if payment is None:
        raise NotFound(f"payment {payment_id}")
    return payment


def _record(session: Session, order_id: str) -> GatewayOrderRecord:
    record = session.scalars(select(GatewayOrderRecord).where(GatewayOrderRecord.order_id == order_id)).one_or_none()
    if record is None:
        raise NotFound(f"gateway order {order_id}")
    return record


def _locked_record(session: Session, order_id: str) -> GatewayOrderRecord:
    record = session.scalars(select(GatewayOrderRecord).where(GatewayOrderRecord.order_id == order_id)
                             .with_for_update()).one_or_none()
    if record is None:
        raise NotFound(f"gateway order {order_id}")
    return record


__all__ = ["MONEY_STATES", "OPEN_STATES", "OrderSettlement", "QrCollector"]
