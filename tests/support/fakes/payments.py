"""In-process fakes of the cash acceptor and the QR gateway ports, for service, flow and UI tests.

They keep the real devices' rules (escrow, inhibits, event counter 1..255, signed notifications,
expiry) so that flows tested against them behave the same on the wire-level simulators.
Device tests use devices/sim instead.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone

from kiosk.errors import BadSignature, CashAcceptorFault, DeviceTimeout, GatewayError
from kiosk.ports import CashEvent, CashEventKind, GatewayNotification, GatewayOrder, OrderState

CNY_NOTES_FEN = {1: 100, 2: 500, 3: 1000, 4: 2000, 5: 5000, 6: 10000}


class FakeCashAcceptor:
    """A banknote acceptor in memory: `insert_note(2000)` plays a person feeding a 20-yuan note."""

    def __init__(self, notes: Mapping[int, int] = CNY_NOTES_FEN, name: str = "fake banknote acceptor") -> None:
        self.name = name
        self.notes = dict(notes)
        self.is_open = False
        self.enabled: set[int] = set()
        self.escrow: int | None = None  # bill type
        self.cash_box: list[int] = []  # values in fen
        self.counter = 0
        self.history: list[CashEvent] = []
        self._polled = 0  # index into history
        self.fail_polls = 0
        self.fail_route = False
        self._lock = threading.RLock()

    # --- the port -----------------------------------------------------------------------------
    def open(self) -> None:
        self.is_open = True

    def close(self) -> None:
        self.is_open = False

    def identify(self) -> Mapping[str, str]:
        return {"category": "Bill Validator", "manufacturer": "FAKE", "product_code": "FAKE-CN", "serial": "1"}

    def bill_values(self) -> Mapping[int, int]:
        return dict(self.notes)

    def enable(self, values_fen: Iterable[int]) -> None:
        with self._lock:
            self.enabled = set(values_fen) & set(self.notes.values())

    def disable(self) -> None:
        with self._lock:
            self.enabled = set()

    def poll(self) -> list[CashEvent]:
        with self._lock:
            if self.fail_polls:
                self.fail_polls -= 1
                raise DeviceTimeout("fake acceptor not answering", device=self.name)
            new = self.history[self._polled:]
            self._polled = len(self.history)
            return new

    def events_since(self, last_counter: int) -> list[CashEvent]:
        with self._lock:
            self._polled = len(self.history)
            if self.counter == 0:
                return [] if last_counter == 0 else [CashEvent(CashEventKind.RESET, 0, detail="reset")]
            since = [i for i, e in enumerate(self.history) if e.counter == last_counter]
            start = since[-1] + 1 if since and last_counter else 0
            return [e for e in self.history[start:] if e.counter][-5:]

    def stack_escrow(self) -> None:
        with self._lock:
            if self.escrow is None:
                return
            if self.fail_route:
                raise CashAcceptorFault("route failed", reason="the note could not be moved")
            bill_type, self.escrow = self.escrow, None
            self.cash_box.append(self.notes[bill_type])
            self._event(CashEventKind.STACKED, self.notes[bill_type], bill_type)

    def return_escrow(self) -> None:
        with self._lock:
            if self.escrow is not None:
                self.escrow = None
                self._event(CashEventKind.RETURNED, detail="bill returned from escrow")

    # --- what tests do ------------------------------------------------------------------------
    def insert_note(self, value_fen: int) -> str:
        with self._lock:
            bill_type = next((t for t, v in self.notes.items() if v == value_fen), None)
            if self.escrow is not None:
                return "busy"
            if bill_type is None or value_fen not in self.enabled:
                self._event(CashEventKind.REJECTED, detail="inhibited or invalid bill")
                return "rejected"
            self.escrow = bill_type
            self._event(CashEventKind.ESCROW, value_fen, bill_type)
            return "escrow"

    def fault(self, kind: CashEventKind, detail: str = "") -> None:
        """Raise a status event: JAM, STACKER_FULL, STACKER_REMOVED, FRAUD ..."""
        with self._lock:
            self.escrow = None
            self._event(kind, detail=detail or kind.value)

    def power_cycle(self) -> None:
        with self._lock:
            self.escrow = None
            self.enabled = set()
            self.counter = 0
            self.history.append(CashEvent(CashEventKind.RESET, 0, detail="power-up"))

    def _event(self, kind: CashEventKind, value_fen: int = 0, bill_type: int = 0, detail: str = "") -> None:
        self.counter = 1 if self.counter >= 255 else self.counter + 1
        self.history.append(CashEvent(kind, self.counter, value_fen, bill_type, detail))

    @property
    def stacked_fen(self) -> int:
        return sum(self.cash_box)


class FakePaymentGateway:
    """A QR gateway in memory. `pay(order_id)` plays the resident; `notification(order_id)` gives
    the signed body and headers the real gateway would POST."""

    SIGNATURE_HEADER = "X-Fake-Signature"

    def __init__(self, secret: bytes = b"fake-gateway-secret", name: str = "fake QR gateway") -> None:
        self.name = name
        self._secret = secret
        self.orders: dict[str, GatewayOrder] = {}
        self.refunds: dict[str, tuple[str, int]] = {}
        self.reachable = True
        self.accept_late_payments = False
        self.calls: list[tuple[str, str]] = []
        self._txn = 0
        self._lock = threading.RLock()

    def _check(self, call: str, order_id: str) -> None:
        self.calls.append((call, order_id))
        if not self.reachable:
            raise GatewayError(f"{call} {order_id}: unreachable")

    def create_order(self, order_id: str, amount_fen: int, description: str, expires_in_s: int) -> GatewayOrder:
        with self._lock:
            self._check("create", order_id)
            order = self.orders.setdefault(order_id, GatewayOrder(order_id, amount_fen, OrderState.PENDING,
                                                                  code_url=f"fakepay://{order_id}"))
            if order.amount_fen != amount_fen:
                raise GatewayError(f"order {order_id} exists with another amount")
            return order

    def query(self, order_id: str) -> GatewayOrder:
        with self._lock:
            self._check("query", order_id)
            return self._get(order_id)

    def close(self, order_id: str) -> GatewayOrder:
        with self._lock:
            self._check("close", order_id)
            order = self._get(order_id)
            if order.state in (OrderState.PENDING, OrderState.EXPIRED):
                order = self._set(order, OrderState.CLOSED)
            return order

    def refund(self, order_id: str, refund_id: str, amount_fen: int) -> None:
        with self._lock:
            self._check("refund", order_id)
            if refund_id in self.refunds:
                return
            order = self._get(order_id)
            if order.state is not OrderState.PAID or amount_fen > order.amount_fen:
                raise GatewayError(f"refund {refund_id} refused: order is {order.state}")
            self.refunds[refund_id] = (order_id, amount_fen)
            self._set(order, OrderState.REFUNDED)

    def verify_notification(self, body: bytes, headers: Mapping[str, str]) -> GatewayNotification:
        given = next((v for k, v in headers.items() if k.lower() == self.SIGNATURE_HEADER.lower()), "")
        expected = hmac.new(self._secret, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
            raise BadSignature("fake signature mismatch")
        data = json.loads(body)
        return GatewayNotification(data["order_id"], OrderState(data["state"]), data["amount_fen"], data["gateway_txn"])

    # --- what tests do ------------------------------------------------------------------------
    def pay(self, order_id: str) -> GatewayOrder:
        with self._lock:
            order = self._get(order_id)
            if order.state is not OrderState.PENDING and not (
                    self.accept_late_payments and order.state in (OrderState.CLOSED, OrderState.EXPIRED)):
                raise GatewayError(f"order {order_id} is {order.state}")
            self._txn += 1
            paid = GatewayOrder(order.order_id, order.amount_fen, OrderState.PAID, order.code_url,
                                f"FAKE{self._txn:06d}", datetime.now(timezone.utc))
            self.orders[order_id] = paid
            return paid

    def expire(self, order_id: str) -> None:
        with self._lock:
            self._set(self._get(order_id), OrderState.EXPIRED)

    def notification(self, order_id: str, secret: bytes | None = None) -> tuple[bytes, dict[str, str]]:
        order = self._get(order_id)
        body = json.dumps({"order_id": order.order_id, "state": order.state.value,
                           "amount_fen": order.amount_fen, "gateway_txn": order.gateway_txn}).encode()
        signature = hmac.new(secret or self._secret, body, hashlib.sha256).hexdigest()
        return body, {self.SIGNATURE_HEADER: signature}

    def _get(self, order_id: str) -> GatewayOrder:
        try:
            return self.orders[order_id]
        except KeyError:
            raise GatewayError(f"unknown order {order_id}") from None

    def _set(self, order: GatewayOrder, state: OrderState) -> GatewayOrder:
        updated = GatewayOrder(order.order_id, order.amount_fen, state, order.code_url, order.gateway_txn,
                               order.paid_at)
        self.orders[order.order_id] = updated
        return updated
