"""The rule both networks give for a payment code (付款码) order that is not final at once (WeChat USERPAYING,
Alipay 10003 WAIT_BUYER_PAY: the resident confirms a PIN on the phone): ask about it until it is final, and
reverse (撤销) one still unfinished when the wait is over; what the order is then is the answer (closed, or
paid/refunded if the money landed first)."""
from __future__ import annotations

import logging
import time
from typing import Protocol

from kiosk.errors import GatewayError
from kiosk.ports import GatewayOrder, OrderState

log = logging.getLogger(__name__)


class CodePayments(Protocol):
    def query(self, order_id: str) -> GatewayOrder: ...
    def reverse(self, order_id: str) -> GatewayOrder: ...


def settle_or_reverse(driver: CodePayments, order_id: str, *, wait_s: float, poll_s: float, name: str) -> GatewayOrder:
    """Query `order_id` every `poll_s` until it is final; reverse it once `wait_s` has passed. A query that fails
    (a timeout, a 5xx) is asked again; only the reverse's own failure is raised."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            order: GatewayOrder | None = driver.query(order_id)
        except GatewayError as exc:
            log.warning("%s %s: query failed (%s), trying again", name, order_id, exc)
            order = None
        if order is not None and order.state is not OrderState.PENDING:
            return order
        if time.monotonic() >= deadline:
            return driver.reverse(order_id)
        time.sleep(min(poll_s, max(0.0, deadline - time.monotonic())))
