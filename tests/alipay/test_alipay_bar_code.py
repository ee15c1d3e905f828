"""AlipayGateway's payment-code (付款码) calls against `kiosk sim alipay`: paid at once, the PIN wait (10003)
settled by query, a PIN that never comes cancelled after the wait, a declined code, a timed-out call."""
from __future__ import annotations

import uuid

import pytest

from devices.gateway.alipay import AlipayGateway
from kiosk.errors import GatewayError
from kiosk.ports import OrderState
from tests.alipay.conftest import Sim
from tests.alipay.test_alipay_gateway import _gateway

CODE = "281234567890123456"


def _order_id() -> str:
    return "K8-" + uuid.uuid4().hex[:16]


@pytest.fixture
def gateway(sim: Sim) -> AlipayGateway:
    return _gateway(sim, timeout_s=0.5)


def test_a_code_paid_at_once_is_paid_with_its_amount(gateway: AlipayGateway) -> None:
    order = gateway.pay_with_code(_order_id(), 4321, "物业费", CODE)
    assert (order.state, order.amount_fen) == (OrderState.PAID, 4321) and order.gateway_txn


def test_the_pin_wait_is_pending_and_settles_paid_by_query(sim: Sim, gateway: AlipayGateway) -> None:
    sim.control(bar_code="pin", pin_ms=300)
    order_id = _order_id()
    assert gateway.pay_with_code(order_id, 1500, "物业费", CODE).state is OrderState.PENDING
    settled = gateway.settle_code_payment(order_id, wait_s=5, poll_s=0.05)
    assert (settled.state, settled.amount_fen) == (OrderState.PAID, 1500)


def test_a_pin_that_never_comes_is_cancelled_after_the_wait_and_cannot_be_paid_later(sim: Sim,
                                                                                     gateway: AlipayGateway) -> None:
    sim.control(bar_code="pin", pin_ms=None)
    order_id = _order_id()
    assert gateway.pay_with_code(order_id, 1500, "物业费", CODE).state is OrderState.PENDING
    assert gateway.settle_code_payment(order_id, wait_s=0.3, poll_s=0.05).state is OrderState.CLOSED
    sim.control(action="pay", out_trade_no=order_id)
    assert gateway.query(order_id).state is OrderState.CLOSED


def test_a_declined_or_unreadable_code_ends_the_order_unpaid(sim: Sim, gateway: AlipayGateway) -> None:
    sim.control(bar_code="decline")
    assert gateway.pay_with_code(_order_id(), 100, "物业费", CODE).state is OrderState.CLOSED
    sim.control(bar_code="pay")
    assert gateway.pay_with_code(_order_id(), 100, "物业费", "1234").state is OrderState.CLOSED


def test_a_timed_out_code_payment_is_found_by_settling_never_paid_twice(sim: Sim, gateway: AlipayGateway) -> None:
    order_id = _order_id()
    sim.control(fault="timeout", fault_count=1, stall_ms=1000)
    with pytest.raises(GatewayError) as failed:
        gateway.pay_with_code(order_id, 2200, "物业费", CODE)
    assert CODE not in str(failed.value)
    settled = gateway.settle_code_payment(order_id, wait_s=2, poll_s=0.05)
    assert (settled.state, settled.amount_fen) == (OrderState.PAID, 2200)
    again = gateway.pay_with_code(order_id, 2200, "物业费", CODE)  # a retry finds it, it does not pay again
    assert again.state is OrderState.PENDING and gateway.query(order_id).state is OrderState.PAID
    paid = [t for t in sim.state()["trades"] if t["out_trade_no"] == order_id]
    assert len(paid) == 1 and paid[0]["status"] == "TRADE_SUCCESS"
