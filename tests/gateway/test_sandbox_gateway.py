"""The SandboxGateway client and QrSession against the sandbox gateway over real HTTP."""
from __future__ import annotations

import json
import queue
import threading
import time
import urllib.request

import pytest

from devices.gateway.registry import build_payment_gateway
from devices.gateway.sandbox import SandboxGateway
from devices.sim.gateway_sim import SimGateway
from kiosk.errors import BadSignature, DriverNotFound, GatewayError
from kiosk.payments.qr_session import Backoff, LateAction, LatePayment, QrPayment, QrSession, QrState
from kiosk.ports import OrderState, PaymentGateway

from .conftest import SECRET, Inbox


def wait_for(predicate, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    done = threading.Event()
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        done.wait(0.01)


def session_for(client: SandboxGateway, order_id: str, inbox: Inbox, **kw: object) -> tuple[QrSession, list, list]:
    paid: list[QrPayment] = []
    late: list[LatePayment] = []
    session = QrSession(client, order_id, 2500, "物业管理费 2026-11", paid.append, late.append,
                        timeout_s=30, backoff=Backoff(0.05, 2.0, 0.5), **kw)  # type: ignore[arg-type]
    inbox.handler = session.handle_notification
    return session, paid, late


def test_client_implements_the_port(client: SandboxGateway) -> None:
    assert isinstance(client, PaymentGateway)


def test_create_query_close(client: SandboxGateway) -> None:
    order = client.create_order("K1-1", 2500, "fees", 120)
    assert order.state is OrderState.PENDING and order.code_url.endswith("/pay/K1-1")
    assert client.query("K1-1") == order
    assert client.close("K1-1").state is OrderState.CLOSED


def test_create_is_idempotent_but_refuses_a_different_amount(client: SandboxGateway) -> None:
    first = client.create_order("K1-2", 2500, "fees", 120)
    assert client.create_order("K1-2", 2500, "fees", 120) == first
    with pytest.raises(GatewayError, match="ORDER_EXISTS"):
        client.create_order("K1-2", 2600, "fees", 120)


def test_unknown_order_is_refused(client: SandboxGateway) -> None:
    with pytest.raises(GatewayError, match="ORDER_NOT_FOUND"):
        client.query("nope")


def test_unsigned_requests_are_refused(sim: SimGateway) -> None:
    with pytest.raises(GatewayError, match="BAD_SIGNATURE"):
        SandboxGateway(sim.url, "wrong-secret").create_order("K1-3", 100, "x", 60)


def test_paid_order_is_found_by_notification(client: SandboxGateway, sim: SimGateway, inbox: Inbox) -> None:
    session, paid, late = session_for(client, "K1-10", inbox, clock=lambda: 0.0)  # clock frozen: no polling
    session.start()
    sim.control({"delay_s": 0})
    sim.pay("K1-10")
    wait_for(lambda: paid)
    assert session.state is QrState.PAID and paid[0].source == "notification"
    assert paid[0].gateway_txn.startswith("SANDBOX") and late == []


def test_paid_order_is_found_by_polling_when_no_notification_comes(client: SandboxGateway, sim: SimGateway,
                                                                  inbox: Inbox) -> None:
    session, paid, _late = session_for(client, "K1-11", inbox)
    session.start()
    sim.pay("K1-11", notify="never")
    wait_for(lambda: session.tick().state is QrState.PAID)
    assert paid[0].source == "query" and inbox.received.empty()


def test_pay_endpoint_is_what_the_code_url_points_to(client: SandboxGateway) -> None:
    order = client.create_order("K1-12", 990, "fees", 60)
    request = urllib.request.Request(order.code_url, data=b'{"notify": "never"}', method="POST")
    with urllib.request.urlopen(request, timeout=2) as response:
        assert json.loads(response.read())["state"] == "paid"
    assert client.query("K1-12").state is OrderState.PAID


def test_duplicate_notification_counts_once(client: SandboxGateway, sim: SimGateway, inbox: Inbox) -> None:
    session, paid, _late = session_for(client, "K1-13", inbox, clock=lambda: 0.0)
    session.start()
    sim.pay("K1-13", notify="twice", delay_s=0)
    inbox.next()
    inbox.next()
    wait_for(lambda: len(sim.deliveries) == 2)
    assert [d["status"] for d in sim.deliveries] == [200, 200]
    assert len(paid) == 1


def test_forged_notification_is_rejected(client: SandboxGateway, sim: SimGateway, inbox: Inbox,
                                         caplog: pytest.LogCaptureFixture) -> None:
    session, paid, _late = session_for(client, "K1-14", inbox, clock=lambda: 0.0)
    session.start()
    sim.control({"forge_notification": "K1-14"})
    body, headers = inbox.next()
    assert sim.deliveries[-1]["status"] == 401
    with pytest.raises(BadSignature):
        client.verify_notification(body, headers)
    assert paid == [] and session.state is QrState.WAITING
    assert "rejected" in caplog.text


def test_order_expires_on_the_gateway_clock(client: SandboxGateway, sim: SimGateway, inbox: Inbox) -> None:
    session, paid, _late = session_for(client, "K1-15", inbox)
    session.start()
    sim.advance(3600)
    wait_for(lambda: session.tick().state is QrState.EXPIRED)
    with pytest.raises(GatewayError, match="ORDER_CLOSED"):
        sim_pay_http(sim, "K1-15")
    assert paid == []


def test_kiosk_timeout_closes_the_order_at_the_gateway(client: SandboxGateway, sim: SimGateway, inbox: Inbox) -> None:
    now = [0.0]
    session, _paid, _late = session_for(client, "K1-16", inbox, clock=lambda: now[0])
    session.start()
    now[0] = 31.0
    assert session.tick().state is QrState.EXPIRED
    assert client.query("K1-16").state is OrderState.CLOSED


def test_cancelled_then_paid_late_is_refunded_and_recorded(client: SandboxGateway, sim: SimGateway,
                                                           inbox: Inbox) -> None:
    session, paid, late = session_for(client, "K1-17", inbox)
    session.start()
    assert session.cancel().state is QrState.CANCELLED
    sim.control({"accept_late_payments": True})
    sim.pay("K1-17", notify="late", delay_s=0.2)
    wait_for(lambda: late)
    assert late[0].action is LateAction.REFUND and paid == []
    records = client.records()
    assert records["refunds"] == [{**records["refunds"][0], "refund_id": "K1-17-late", "order_id": "K1-17",
                                   "amount_fen": 2500}]
    assert client.query("K1-17").state is OrderState.REFUNDED


def test_gateway_timeout_raises_gateway_error_quickly(sim: SimGateway) -> None:
    client = SandboxGateway(sim.url, SECRET, timeout_s=0.3)
    sim.control({"stall_s": 2})
    started = time.monotonic()
    with pytest.raises(GatewayError):
        client.create_order("K1-18", 100, "x", 60)
    assert time.monotonic() - started < 1.5
    sim.control({"stall_s": 0})


def test_gateway_busy_is_a_gateway_error_and_session_is_unavailable(client: SandboxGateway, sim: SimGateway,
                                                                   inbox: Inbox) -> None:
    sim.control({"fail_requests": 1})
    session, _paid, _late = session_for(client, "K1-19", inbox)
    assert session.start().state is QrState.UNAVAILABLE


def test_unreachable_gateway_is_a_gateway_error() -> None:
    with SimGateway(SECRET) as gone:
        url = gone.url
    with pytest.raises(GatewayError):
        SandboxGateway(url, SECRET, timeout_s=0.5).query("x")


def test_a_gateway_that_dies_mid_answer_is_a_gateway_error_and_the_order_is_found_again(
        client: SandboxGateway, sim: SimGateway) -> None:
    sim.control({"cut_replies": 1})  # headers promise the whole body; half of it comes, then the socket closes
    with pytest.raises(GatewayError, match="IncompleteRead"):
        client.create_order("K1-20", 100, "x", 60)
    order = client.query("K1-20")  # the gateway had created it: the kiosk finds it by its own order id
    assert order.state is OrderState.PENDING and order.amount_fen == 100


def test_failed_notification_is_retried_until_accepted(client: SandboxGateway, sim: SimGateway, inbox: Inbox) -> None:
    client.create_order("K1-20", 100, "x", 60)
    attempts = queue.Queue()

    def flaky(body: bytes, headers: object) -> None:
        attempts.put(1)
        if attempts.qsize() < 2:
            raise RuntimeError("database busy")

    inbox.handler = flaky
    sim.pay("K1-20", delay_s=0)
    wait_for(lambda: len(sim.deliveries) == 2)
    assert [d["status"] for d in sim.deliveries] == [500, 200]


def test_refunds_are_idempotent_and_bounded(client: SandboxGateway, sim: SimGateway) -> None:
    client.create_order("K1-21", 1000, "x", 60)
    with pytest.raises(GatewayError, match="ORDER_NOT_PAID"):
        client.refund("K1-21", "R1", 1000)
    sim.pay("K1-21", notify="never")
    client.refund("K1-21", "R1", 400)
    client.refund("K1-21", "R1", 400)
    with pytest.raises(GatewayError, match="REFUND_EXCEEDS_PAYMENT"):
        client.refund("K1-21", "R2", 700)
    assert client.query("K1-21").state is OrderState.PAID
    client.refund("K1-21", "R2", 600)
    assert client.query("K1-21").state is OrderState.REFUNDED
    assert len(client.records()["refunds"]) == 2


def test_records_match_what_the_kiosk_saw(client: SandboxGateway, sim: SimGateway) -> None:
    for n in range(3):
        client.create_order(f"K1-3{n}", 100 * (n + 1), "x", 60)
    sim.pay("K1-31", notify="never")
    records = {o["order_id"]: o for o in client.records()["orders"]}
    assert {k: v["state"] for k, v in records.items()} == {"K1-30": "pending", "K1-31": "paid", "K1-32": "pending"}
    assert sum(o["amount_fen"] for o in records.values() if o["state"] == "paid") == 200


def test_registry_builds_sandbox_and_names_the_setting_otherwise(sim: SimGateway) -> None:
    assert isinstance(build_payment_gateway("sandbox", sim.url, SECRET), SandboxGateway)
    with pytest.raises(DriverNotFound, match="devices.gateway.driver"):
        build_payment_gateway("paypal", sim.url, SECRET)


def sim_pay_http(sim: SimGateway, order_id: str) -> None:
    request = urllib.request.Request(f"{sim.url}/pay/{order_id}", data=b"{}", method="POST")
    try:
        urllib.request.urlopen(request, timeout=2).close()
    except urllib.error.HTTPError as exc:
        raise GatewayError(json.loads(exc.read())["error"]) from exc
