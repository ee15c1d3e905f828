"""`QrSession`: one scan-to-pay order, from creating it to paid, cancelled or expired, never losing a late payment.

The session talks to a `kiosk.ports.PaymentGateway` and reports money through two sinks:
`on_paid(QrPayment)` once when the order is paid while the person is still there, and
`on_late_payment(LatePayment)` once when money lands after the kiosk gave up (it is refunded
at the gateway, or credited to the household, and the sink records either). The owner calls
`tick()` every few hundred ms (it queries the gateway on a back-off schedule) and hands every
gateway notification to `handle_notification(body, headers)`.

Giving up (timeout or cancel) closes the order at the gateway *before* the screen says so; if
the close shows the order was paid, it is paid. `settle_open_order()` does the same for an
order left open by a kiosk that was killed.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from kiosk.errors import BadSignature, GatewayError
from kiosk.i18n import N_
from kiosk.ports import GatewayOrder, OrderState, PaymentGateway

log = logging.getLogger(__name__)

MSG_SCAN = N_("Please scan the code with your payment app.")
MSG_PAID = N_("Thank you. Your payment has been received.")
MSG_CANCELLED = N_("Payment cancelled. Nothing was charged.")
MSG_EXPIRED = N_("The payment code has expired. Nothing was charged.")
MSG_UNCONFIRMED = N_("Payment cancelled. If you paid anyway, the money will be refunded or credited to your "
                     "account. Reference: {reference}.")
MSG_UNAVAILABLE = N_("The payment service is not reachable. Please try another method.")


class QrState(StrEnum):
    NEW = "new"
    WAITING = "waiting"  # the code is on screen
    PAID = "paid"
    CANCELLED = "cancelled"  # closed at the gateway on the person's request
    EXPIRED = "expired"  # timed out and closed at the gateway (or expired there)
    GIVEN_UP = "given_up"  # the close could not be confirmed: a late payment is still possible
    UNAVAILABLE = "unavailable"  # the order could not be created


class LateAction(StrEnum):
    REFUND = "refund"  # refunded at the gateway
    REFUND_PENDING = "refund_pending"  # the refund call failed: retry with the same refund_id
    CREDIT = "credit"  # credited to the household account


@dataclass(frozen=True)
class QrPayment:
    order_id: str
    amount_fen: int
    gateway_txn: str
    source: str  # "notification", "query" or "close"


@dataclass(frozen=True)
class LatePayment:
    order_id: str
    amount_fen: int
    gateway_txn: str
    action: LateAction
    refund_id: str = ""


@dataclass(frozen=True)
class QrView:
    state: QrState
    order_id: str
    amount_fen: int
    code_url: str
    message: str
    seconds_left: int
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Backoff:
    """Query delays: first, first*factor, ... capped at `cap` seconds."""

    first_s: float = 1.0
    factor: float = 1.5
    cap_s: float = 5.0

    def delay(self, attempt: int) -> float:
        return min(self.cap_s, self.first_s * self.factor ** attempt)


def late_refund_id(order_id: str) -> str:
    """The one refund id used for a late payment, so that retries never refund twice."""
    return f"{order_id}-late"


def refund_late_payment(gateway: PaymentGateway, order_id: str, amount_fen: int, gateway_txn: str) -> LatePayment:
    """Refund a payment that landed after the kiosk gave up; REFUND_PENDING if the gateway did not answer."""
    refund_id = late_refund_id(order_id)
    try:
        gateway.refund(order_id, refund_id, amount_fen)
    except GatewayError as exc:
        log.error("refund %s of late payment %s failed: %s", refund_id, order_id, exc)
        return LatePayment(order_id, amount_fen, gateway_txn, LateAction.REFUND_PENDING, refund_id)
    return LatePayment(order_id, amount_fen, gateway_txn, LateAction.REFUND, refund_id)


class QrSession:
    """One QR order. Thread-safe enough for one worker calling tick() and a listener thread
    calling handle_notification(): each sink fires at most once (guarded by state)."""

    def __init__(self, gateway: PaymentGateway, order_id: str, amount_fen: int, description: str,
                 on_paid: Callable[[QrPayment], None], on_late_payment: Callable[[LatePayment], None], *,
                 timeout_s: float = 120.0, expires_in_s: int | None = None, backoff: Backoff = Backoff(),
                 late_action: LateAction = LateAction.REFUND,
                 on_change: Callable[[QrView], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
            raise ValueError(f"amount must be positive integer fen, got {amount_fen!r}")
        if late_action is LateAction.REFUND_PENDING:
            raise ValueError("late_action is REFUND or CREDIT")
        self.gateway = gateway
        self.order_id = order_id
        self.amount_fen = amount_fen
        self.description = description
        self.timeout_s = timeout_s
        self.expires_in_s = int(expires_in_s if expires_in_s is not None else timeout_s + 60)
        self.backoff = backoff
        self.late_action = LateAction(late_action)
        self._on_paid = on_paid
        self._on_late = on_late_payment
        self._on_change = on_change
        self._clock = clock
        self._lock = threading.RLock()
        self.state = QrState.NEW
        self.code_url = ""
        self.payment: QrPayment | None = None
        self.late_payment: LatePayment | None = None
        self.close_confirmed = False
        self._deadline = 0.0
        self._next_query = 0.0
        self._attempt = 0
        self._message = MSG_SCAN

    # --- what the flow calls ------------------------------------------------------------------
    def view(self) -> QrView:
        left = max(0, int(self._deadline - self._clock())) if self.state is QrState.WAITING else 0
        params = (("reference", self.order_id),) if self.state is QrState.GIVEN_UP else ()
        return QrView(self.state, self.order_id, self.amount_fen, self.code_url, self._message, left, params)

    def start(self) -> QrView:
        with self._lock:
            if self.state is not QrState.NEW:
                raise RuntimeError(f"start() in state {self.state}")
            try:
                order = self.gateway.create_order(self.order_id, self.amount_fen, self.description, self.expires_in_s)
            except GatewayError as exc:
                log.warning("creating order %s failed: %s", self.order_id, exc)
                self.state, self._message = QrState.UNAVAILABLE, MSG_UNAVAILABLE
                return self._changed()
            self.code_url = order.code_url
            now = self._clock()
            self._deadline = now + self.timeout_s
            self._next_query = now + self.backoff.delay(0)
            self.state = QrState.WAITING
            self._apply(order, "query")
            return self._changed()

    def tick(self) -> QrView:
        """Query the gateway when the back-off says so; give up at the deadline.

        After an unconfirmed give-up (GIVEN_UP) it keeps trying to close the order, so that a
        payment made meanwhile is found and settled as late.
        """
        with self._lock:
            if self.state is QrState.GIVEN_UP and not self.close_confirmed:
                return self._retry_close()
            if self.state is not QrState.WAITING:
                return self.view()
            now = self._clock()
            if now >= self._deadline:
                return self._give_up(QrState.EXPIRED, MSG_EXPIRED)
            if now < self._next_query:
                return self.view()
            self._attempt += 1
            self._next_query = now + self.backoff.delay(self._attempt)
            try:
                order = self.gateway.query(self.order_id)
            except GatewayError as exc:
                log.info("query %s failed (will retry): %s", self.order_id, exc)
                return self.view()
            self._apply(order, "query")
            return self._changed()

    def _retry_close(self) -> QrView:
        now = self._clock()
        if now < self._next_query:
            return self.view()
        self._attempt += 1
        self._next_query = now + self.backoff.delay(self._attempt)
        try:
            order = self.gateway.close(self.order_id)
        except GatewayError as exc:
            log.info("closing %s still fails: %s", self.order_id, exc)
            return self.view()
        self.close_confirmed = True
        if order.state is OrderState.PAID:
            self._paid(order.gateway_txn, "close")
        return self.view()

    def next_tick_in(self) -> float:
        """Seconds until tick() has something to do (for the worker's wait)."""
        if self.state is QrState.GIVEN_UP and not self.close_confirmed:
            return max(0.0, self._next_query - self._clock())
        if self.state is not QrState.WAITING:
            return float("inf")
        return max(0.0, min(self._next_query, self._deadline) - self._clock())

    def cancel(self) -> QrView:
        with self._lock:
            if self.state is QrState.NEW:
                self.state, self._message = QrState.CANCELLED, MSG_CANCELLED
                return self._changed()
            if self.state is not QrState.WAITING:
                return self.view()
            return self._give_up(QrState.CANCELLED, MSG_CANCELLED)

    def handle_notification(self, body: bytes, headers: Mapping[str, str]) -> QrPayment | LatePayment | None:
        """Verify and apply a gateway notification. BadSignature is logged and re-raised (answer 401)."""
        try:
            note = self.gateway.verify_notification(body, headers)
        except BadSignature:
            log.warning("rejected a forged or corrupted notification for order %s", self.order_id)
            raise
        if note.order_id != self.order_id:
            return None
        if note.state is not OrderState.PAID:
            return None
        if note.amount_fen != self.amount_fen:
            log.error("notification for %s says %s fen, the order is %s fen: querying instead",
                      self.order_id, note.amount_fen, self.amount_fen)
            return self._confirm_by_query()
        with self._lock:
            return self._paid(note.gateway_txn, "notification")

    # --- internals ----------------------------------------------------------------------------
    def _confirm_by_query(self) -> QrPayment | LatePayment | None:
        try:
            order = self.gateway.query(self.order_id)
        except GatewayError as exc:
            log.warning("query %s after a doubtful notification failed: %s", self.order_id, exc)
            return None
        with self._lock:
            if order.state is OrderState.PAID and order.amount_fen == self.amount_fen:
                return self._paid(order.gateway_txn, "query")
        return None

    def _apply(self, order: GatewayOrder, source: str) -> None:
        if order.state is OrderState.PAID:
            self._paid(order.gateway_txn, source)
        elif order.state in (OrderState.EXPIRED, OrderState.CLOSED) and self.state is QrState.WAITING:
            self.state, self._message = QrState.EXPIRED, MSG_EXPIRED

    def _paid(self, gateway_txn: str, source: str) -> QrPayment | LatePayment | None:
        if self.state is QrState.WAITING:
            self.payment = QrPayment(self.order_id, self.amount_fen, gateway_txn, source)
            self.state, self._message = QrState.PAID, MSG_PAID
            self._on_paid(self.payment)
            self._changed()
            return self.payment
        if self.state is QrState.PAID or self.late_payment is not None:
            return None  # a duplicate: already counted once
        if self.state in (QrState.CANCELLED, QrState.EXPIRED, QrState.GIVEN_UP):
            if self.late_action is LateAction.REFUND:
                late = refund_late_payment(self.gateway, self.order_id, self.amount_fen, gateway_txn)
            else:
                late = LatePayment(self.order_id, self.amount_fen, gateway_txn, LateAction.CREDIT)
            self.late_payment = late
            log.warning("late payment for %s after giving up: %s", self.order_id, late.action)
            self._on_late(late)
            return late
        return None

    def _give_up(self, final: QrState, message: str) -> QrView:
        try:
            order = self.gateway.close(self.order_id)
        except GatewayError as exc:
            log.warning("closing %s failed: %s", self.order_id, exc)
            self.state, self._message = QrState.GIVEN_UP, MSG_UNCONFIRMED
            self._attempt = 0
            self._next_query = self._clock() + self.backoff.delay(0)
            return self._changed()
        if order.state is OrderState.PAID:
            self._paid(order.gateway_txn, "close")
            return self.view()
        self.close_confirmed = True
        self.state, self._message = final, message
        return self._changed()

    def _changed(self) -> QrView:
        view = self.view()
        if self._on_change is not None:
            self._on_change(view)
        return view


@dataclass(frozen=True)
class OpenOrderOutcome:
    order_id: str
    state: OrderState  # PAID (money arrived: apply it), CLOSED, EXPIRED or REFUNDED
    amount_fen: int
    gateway_txn: str = ""


def settle_open_order(gateway: PaymentGateway, order_id: str) -> OpenOrderOutcome:
    """At start-up, for an order the kiosk left open: query it and close it unless it was paid.

    Raises GatewayError when the gateway cannot be reached (try again later; nothing changed).
    """
    order = gateway.query(order_id)
    if order.state is OrderState.PENDING:
        order = gateway.close(order_id)
    return OpenOrderOutcome(order.order_id, order.state, order.amount_fen, order.gateway_txn)
