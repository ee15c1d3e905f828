"""`CodeCollector`: the resident shows the payment code (付款码) and the kiosk's scanner reads it, on one network.

The order is on record before anything is asked of anyone: `collect` writes a `GatewayOrderRecord` (kind `code`,
state `pending`, out_trade_no `<payment reference>-<n>`) in its own transaction, then arms the scanner through its
DeviceSupervisor (on the scanner's worker thread, never the UI's) and reports `Stage.SHOW_CODE` with a countdown.

- A garbled scan: the progress says E6300 (ScanUnreadable) and the scanner waits for the next one.
- A code of the other network than the one chosen is refused (E6310, naming the chosen network) and the scanner
  is armed again: the resident chose a network on the page and the order is recorded for it, so it is never
  charged on another one (documented in docs/payments.md).
- A good code: the scanner is disarmed and the network's `pay_with_code` is called once with the stored
  out_trade_no. Paid: `payments.record_gateway_paid` and the record turns `paid` in one transaction (the QR
  path's own `_record_paid`, so the same ledger entries and receipt follow). Pending (WeChat USERPAYING, Alipay
  10003, or an unknown answer): `Stage.CONFIRM_ON_PHONE` with a countdown while the order is queried; never paid
  again. Declined: E6311, nothing charged.
- Cancel, the wait for the code running out, or the PIN never coming: an order that reached the gateway is
  reversed (WeChat reverse / Alipay trade.cancel, as both APIs prescribe); the record turns `reversed`, or stays
  `pending` for `recover()` when the reverse could not be confirmed. The scanner is disarmed in every ending.
- `recover()` (start-up, and after a database outage) settles each open code order of its network once: query;
  paid while the payment still waits -> credited to it (a same-key retry settles it); anything unfinished ->
  reversed; unknown to the gateway -> `void`.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from kiosk.domain.terms import PaymentStatus
from kiosk.errors import (GatewayError, PaymentCancelled, PaymentCodeDeclined, PaymentCodeNotConfirmed,
                          PaymentCodeOtherNetwork, PaymentExpired, ScanUnreadable)
from kiosk.i18n import N_
from kiosk.payments.control import PaymentControl, PaymentProgress, Stage
from kiosk.payments.qr_collector import MONEY_STATES, OrderSettlement, QrCollector
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import GatewayOrderRecord, Payment, utcnow
from kiosk.ports import GatewayOrder, OrderState
from kiosk.services import payments
from kiosk.services.receipts import Till

log = logging.getLogger(__name__)

# kiosk.domain.payment_code.Network -> the gateway network's name in settings
SCAN_NETWORKS = {"wechat": "wechatpay", "alipay": "alipay"}
NETWORK_NAMES = {"wechatpay": N_("WeChat Pay"), "alipay": N_("Alipay")}
SHOW_COUNTDOWN = N_("Open the payment code in your app and hold it under the scanner ({seconds} s left)")
CONFIRM_COUNTDOWN = N_("Waiting for you to confirm on your phone ({seconds} s left)")


class CodeGateway(Protocol):
    """What both network drivers offer for payment codes (devices/gateway/wechatpay.py, alipay.py)."""

    def pay_with_code(self, order_id: str, amount_fen: int, description: str, auth_code: str) -> GatewayOrder: ...
    def query(self, order_id: str) -> GatewayOrder: ...
    def reverse(self, order_id: str) -> GatewayOrder: ...


class Supervised(Protocol):
    def submit(self, fn: Callable[[Any], Any]) -> Future[Any]: ...


class CodeCollector:
    """Payment codes on one network at one kiosk. `collect` blocks its worker thread."""

    def __init__(self, gateway: CodeGateway, scanner: Supervised, qr: QrCollector, factory: sessionmaker[Session],
                 till: Till, *, network: str, scan_timeout_s: float = 90.0, confirm_timeout_s: float = 60.0,
                 poll_s: float = 2.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.gateway = gateway
        self.scanner = scanner  # the scanner's DeviceSupervisor: every scanner call runs on its worker
        self.qr = qr  # the same network's QR collector: its ledger sink (record_paid) is this one's
        self.factory = factory
        self.till = till
        self.network = network
        self.scan_timeout_s = scan_timeout_s
        self.confirm_timeout_s = confirm_timeout_s
        self.poll_s = poll_s
        self._clock = clock
        self._pause = threading.Event()  # never set: bounded waits between queries
        self._active: set[str] = set()
        self._lock = threading.Lock()

    def as_move_money(self, control: PaymentControl) -> Callable[[Payment], None]:
        def move_money(payment: Payment) -> None:
            self.collect(payment.id, control)
        return move_money

    # --- one payment ---------------------------------------------------------------------------------
    def collect(self, payment_id: int, control: PaymentControl) -> int:
        with unit_of_work(self.factory) as session:
            payment = session.get(Payment, payment_id)
            assert payment is not None
            amount = payments.other_part(payment)
            due, received, reference = amount - payment.received_fen, payment.received_fen, payment.reference
            if due <= 0:
                return received
            n = session.scalar(select(func.count()).select_from(GatewayOrderRecord)
                               .where(GatewayOrderRecord.payment_id == payment_id)) or 0
            order_id = f"{reference}-{n + 1}"
            session.add(GatewayOrderRecord(payment_id=payment_id, order_id=order_id, amount_fen=due, state="pending",
                                           network=self.network, kind="code"))
        with self._lock:
            self._active.add(order_id)
        try:
            code = self._read_code(control, amount, received, reference, order_id)
            order, reversed_ = self._pay(order_id, due, reference, code), False
            del code
            if order.state is OrderState.PENDING:
                order, reversed_ = self._wait_for_phone(control, order_id, amount, received)
            return self._finish(control, order_id, order, reversed_, amount, received, reference)
        finally:
            with self._lock:
                self._active.discard(order_id)

    def _scanner(self, fn: Callable[[Any], Any], timeout: float = 5.0) -> Any:
        return self.scanner.submit(fn).result(timeout=timeout)

    def _read_code(self, control: PaymentControl, amount: int, received: int, reference: str, order_id: str) -> str:
        """Arm, wait for this network's code, disarm (in every ending). No order exists at the gateway yet, so
        a cancel or timeout here only closes the record."""
        deadline = self._clock() + self.scan_timeout_s
        message: str = SHOW_COUNTDOWN
        params: tuple[tuple[str, str], ...] = ()
        try:
            self._scanner(lambda s: s.arm())
            while True:
                left = deadline - self._clock()
                if control.cancelled or left <= 0:
                    if control.cancelled:
                        raise PaymentCancelled(f"{reference}: no payment code shown", reference=reference)
                    raise PaymentExpired(f"{reference}: no payment code shown in time", reference=reference)
                seconds = str(int(left + 0.99))
                shown = params if message != SHOW_COUNTDOWN else (("seconds", seconds),)
                control.report(PaymentProgress(Stage.SHOW_CODE, amount, received, expires_in_s=int(seconds),
                                               message=message, params=shown))
                result = self._scanner(lambda s: s.poll(0.25))
                if result is None:
                    continue
                if getattr(result, "code", None) is None:  # Unreadable: E6300 on the page; the scanner stays armed for the next scan
                    message, params = ScanUnreadable.message, (("code", ScanUnreadable.code),)
                    continue
                if SCAN_NETWORKS.get(str(result.network), "") != self.network:  # refused (docs/payments.md)
                    message, params = PaymentCodeOtherNetwork.message, (("code", PaymentCodeOtherNetwork.code),)
                    self._scanner(lambda s: s.arm())
                    continue
                return str(result.code)
        except BaseException:
            self._close_record(order_id, "closed")  # no order reached the gateway: nothing to reverse
            raise
        finally:
            try:
                self._scanner(lambda s: s.disarm())
            except Exception:  # a scanner gone: it arms nothing until the next payment arms it
                log.warning("disarming the scanner failed", exc_info=True)

    def _pay(self, order_id: str, due: int, reference: str, code: str) -> GatewayOrder:
        try:
            return self.gateway.pay_with_code(order_id, due, f"{self.till.kiosk_code} {reference}", code)
        except GatewayError as exc:  # timed out or cut: the order may exist; find out, never pay again
            log.warning("payment code order %s: %s; asking the gateway", order_id, exc)
            return GatewayOrder(order_id, due, OrderState.PENDING)

    def _wait_for_phone(self, control: PaymentControl, order_id: str, amount: int,
                        received: int) -> tuple[GatewayOrder, bool]:
        """USERPAYING: query until final; cancel or the wait running out reverses the order (True: reversed)."""
        deadline = self._clock() + self.confirm_timeout_s
        next_query = self._clock() + min(self.poll_s, 1.0)
        while True:
            left = deadline - self._clock()
            if control.cancelled or left <= 0:
                return self._reverse(order_id), True
            seconds = int(left + 0.99)
            control.report(PaymentProgress(Stage.CONFIRM_ON_PHONE, amount, received, expires_in_s=seconds,
                                           message=CONFIRM_COUNTDOWN, params=(("seconds", str(seconds)),)))
            if self._clock() >= next_query:
                next_query = self._clock() + self.poll_s
                try:
                    order = self.gateway.query(order_id)
                    if order.state is not OrderState.PENDING:
                        return order, False
                except GatewayError as exc:
                    log.warning("payment code order %s: query failed (%s)", order_id, exc)
            control.wait_cancelled(min(0.25, max(0.0, left)))

    def _reverse(self, order_id: str) -> GatewayOrder:
        try:
            return self.gateway.reverse(order_id)
        except GatewayError as exc:  # left pending: recover() reverses it
            log.warning("payment code order %s: reverse failed (%s); recover() retries", order_id, exc)
            raise GatewayError(f"order {order_id}: reverse not confirmed", reference=order_id) from exc

    def _finish(self, control: PaymentControl, order_id: str, order: GatewayOrder, reversed_: bool, amount: int,
                received: int, reference: str) -> int:
        if order.state is OrderState.PAID:
            self.qr._record_paid(order_id, order.amount_fen, order.gateway_txn)
            control.report(PaymentProgress(Stage.FINISHING, amount, received + order.amount_fen, can_cancel=False))
            return received + order.amount_fen
        self._close_record(order_id, "reversed" if reversed_ else "closed")
        if control.cancelled:
            raise PaymentCancelled(f"{reference}: payment code order {order_id} reversed", reference=reference)
        if reversed_:
            raise PaymentCodeNotConfirmed(f"{reference}: order {order_id} not confirmed, reversed", reference=reference)
        raise PaymentCodeDeclined(f"{reference}: order {order_id} declined", reference=reference)

    # --- start-up ------------------------------------------------------------------------------------
    def recover(self) -> list[OrderSettlement]:
        """Settle every open code order of this network once: paid -> the payment (if it still waits), else
        reversed; unfinished -> reversed; unknown at the gateway -> void; unreachable -> left for the next call."""
        with unit_of_work(self.factory) as session:
            rows = session.scalars(select(GatewayOrderRecord).where(GatewayOrderRecord.state == "pending")
                                   .where(GatewayOrderRecord.kind == "code")
                                   .where(GatewayOrderRecord.network == self.network)
                                   .order_by(GatewayOrderRecord.id)).all()
            todo = [(r.order_id, r.payment_id, r.amount_fen) for r in rows]
        with self._lock:
            busy = set(self._active)
        done: list[OrderSettlement] = []
        for order_id, payment_id, amount in todo:
            if order_id in busy:
                continue
            try:
                state = self._settle(order_id)
            except GatewayError as exc:
                log.warning("payment code order %s still open: %s", order_id, exc)
                continue
            done.append(OrderSettlement(order_id, payment_id, state, amount))
        return done

    def _settle(self, order_id: str) -> str:
        try:
            order = self.gateway.query(order_id)
        except GatewayError as exc:
            if "NOT_EXIST" not in str(exc) and "NOT_FOUND" not in str(exc):
                raise
            self._close_record(order_id, "void")  # the pay call never reached the gateway: nothing to pay
            return "void"
        with unit_of_work(self.factory) as session:
            record = session.scalars(select(GatewayOrderRecord).where(GatewayOrderRecord.order_id == order_id)).one()
            payment = session.get(Payment, record.payment_id)
            waiting = payment is not None and payment.status == PaymentStatus.INTENT
            current = record.state
        if current in MONEY_STATES:
            return current
        if order.state is OrderState.PAID and waiting:
            self.qr._record_paid(order_id, order.amount_fen, order.gateway_txn)  # a same-key retry settles it
            return "paid"
        reversed_ = order.state in (OrderState.PENDING, OrderState.PAID)
        if reversed_:  # unfinished, or paid for a payment no one waits for any more: the API's 撤销
            order = self.gateway.reverse(order_id)
            if order.state is OrderState.PAID:
                raise GatewayError(f"order {order_id}: still paid after the reverse", reference=order_id)
        self._close_record(order_id, "reversed" if reversed_ or order.state is OrderState.REFUNDED else "closed")
        return self._state(order_id)

    # --- records -------------------------------------------------------------------------------------
    def _state(self, order_id: str) -> str:
        with unit_of_work(self.factory) as session:
            return str(session.scalars(select(GatewayOrderRecord.state)
                                       .where(GatewayOrderRecord.order_id == order_id)).one())

    def _close_record(self, order_id: str, state: str) -> None:
        with unit_of_work(self.factory) as session:
            session.execute(update(GatewayOrderRecord).where(GatewayOrderRecord.order_id == order_id)
                            .where(GatewayOrderRecord.state == "pending")
                            .values(state=state, closed_at=utcnow()).execution_options(synchronize_session=False))


__all__ = ["CodeCollector", "NETWORK_NAMES", "SCAN_NETWORKS"]
