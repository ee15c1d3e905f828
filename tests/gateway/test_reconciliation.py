"""Restart with an open QR order, and the gateway's own records against what the kiosk's sinks saw."""
from __future__ import annotations

import json
import threading
import time

from devices.gateway.sandbox import SandboxGateway
from devices.sim.gateway_sim import SimGateway
from kiosk.payments.qr_session import Backoff, LatePayment, QrPayment, QrSession, QrState, settle_open_order
from kiosk.ports import OrderState

from .conftest import Inbox


def wait_until(predicate, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    pause = threading.Event()
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline
        pause.wait(0.01)


def test_restart_settles_orders_left_open(client: SandboxGateway, sim: SimGateway) -> None:
    client.create_order("DEAD-1", 1500, "fees", 120)  # the kiosk was killed while showing this code
    client.create_order("DEAD-2", 2500, "fees", 120)  # ... and this one was paid meanwhile
    sim.pay("DEAD-2", notify="never")
    unpaid = settle_open_order(client, "DEAD-1")
    paid = settle_open_order(client, "DEAD-2")
    assert unpaid.state is OrderState.CLOSED
    assert paid.state is OrderState.PAID and paid.amount_fen == 2500 and paid.gateway_txn.startswith("SANDBOX")
    assert settle_open_order(client, "DEAD-2").state is OrderState.PAID  # settling again changes nothing


def test_gateway_records_match_the_kiosk_sinks(client: SandboxGateway, sim: SimGateway, inbox: Inbox) -> None:
    paid: list[QrPayment] = []
    late: list[LatePayment] = []
    sessions = {}

    def route(body: bytes, headers: dict) -> None:
        sessions[json.loads(body)["order_id"]].handle_notification(body, headers)

    inbox.handler = route
    sim.control({"delay_s": 0, "accept_late_payments": True})
    for n, amount in enumerate([1000, 2000, 3000, 4000]):
        order_id = f"REC-{n}"
        sessions[order_id] = QrSession(client, order_id, amount, "fees", paid.append, late.append,
                                       timeout_s=30, backoff=Backoff(0.05, 2.0, 0.2))
        sessions[order_id].start()
    sim.pay("REC-0")  # paid while waiting
    sim.pay("REC-1", notify="never")  # found by polling
    sessions["REC-2"].cancel()  # cancelled, nothing paid
    sessions["REC-3"].cancel()
    sim.pay("REC-3")  # paid after the kiosk gave up: refunded
    wait_until(lambda: all(s.tick().state is not QrState.WAITING for s in sessions.values()) and late)
    records = client.records()
    gateway_paid = sum(o["amount_fen"] - o["refunded_fen"] for o in records["orders"] if o["paid_at"])
    kiosk_paid = sum(p.amount_fen for p in paid)
    assert kiosk_paid == gateway_paid == 3000
    assert sum(r["amount_fen"] for r in records["refunds"]) == sum(x.amount_fen for x in late) == 4000
