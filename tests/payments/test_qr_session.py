"""QrSession against the in-process fake gateway: polling with back-off, notifications, giving up, late money."""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from kiosk.errors import BadSignature, GatewayError
from tests.support.fakes.payments import FakePaymentGateway
from kiosk.payments.qr_session import (
    MSG_UNCONFIRMED,
    Backoff,
    LateAction,
    LatePayment,
    QrPayment,
    QrSession,
    QrState,
    settle_open_order,
)
from kiosk.ports import OrderState


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Sinks:
    def __init__(self) -> None:
        self.paid: list[QrPayment] = []
        self.late: list[LatePayment] = []


@pytest.fixture
def gateway() -> FakePaymentGateway:
    return FakePaymentGateway()


def make(gateway: FakePaymentGateway, clock: Clock, sinks: Sinks, **kw: object) -> QrSession:
    return QrSession(gateway, "K1-000042", 12345, "fees", sinks.paid.append, sinks.late.append,
                     timeout_s=60, backoff=Backoff(1.0, 2.0, 8.0), clock=clock, **kw)  # type: ignore[arg-type]


def test_start_creates_order_and_shows_code(gateway: FakePaymentGateway) -> None:
    clock, sinks = Clock(), Sinks()
    view = make(gateway, clock, sinks).start()
    assert view.state is QrState.WAITING and view.code_url == "fakepay://K1-000042"
    assert view.seconds_left == 60
    assert gateway.orders["K1-000042"].amount_fen == 12345


def test_polling_backs_off_and_finds_the_payment(gateway: FakePaymentGateway) -> None:
    clock, sinks = Clock(), Sinks()
    session = make(gateway, clock, sinks)
    session.start()
    query_times = []
    for step in range(40):
        clock.now = 1000.0 + step * 0.5
        before = len(gateway.calls)
        session.tick()
        if len(gateway.calls) > before:
            query_times.append(clock.now - 1000.0)
    assert query_times[:5] == [1.0, 3.0, 7.0, 15.0]  # gaps 2, 4, 8 (capped)
    gateway.pay("K1-000042")
    clock.now += 8
    view = session.tick()
    assert view.state is QrState.PAID
    assert sinks.paid == [QrPayment("K1-000042", 12345, "FAKE000001", "query")]


def test_verified_notification_pays_once_and_duplicates_are_ignored(gateway: FakePaymentGateway) -> None:
    clock, sinks = Clock(), Sinks()
    session = make(gateway, clock, sinks)
    session.start()
    gateway.pay("K1-000042")
    body, headers = gateway.notification("K1-000042")
    assert session.handle_notification(body, headers) == sinks.paid[0]
    assert session.handle_notification(body, headers) is None
    clock.now += 5
    session.tick()
    assert len(sinks.paid) == 1 and session.state is QrState.PAID


def test_forged_notification_is_rejected_and_changes_nothing(gateway: FakePaymentGateway,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    clock, sinks = Clock(), Sinks()
    session = make(gateway, clock, sinks)
    session.start()
    gateway.pay("K1-000042")
    body, headers = gateway.notification("K1-000042", secret=b"attacker")
    with pytest.raises(BadSignature):
        session.handle_notification(body, headers)
    assert session.state is QrState.WAITING and sinks.paid == []
    assert "forged" in caplog.text


def test_notification_for_another_order_is_ignored(gateway: FakePaymentGateway) -> None:
    clock, sinks = Clock(), Sinks()
    session = make(gateway, clock, sinks)
    session.start()
    gateway.create_order("OTHER", 1, "x", 60)
    gateway.pay("OTHER")
    assert session.handle_notification(*gateway.notification("OTHER")) is None
    assert sinks.paid == []


def test_timeout_closes_the_order_before_saying_expired(gateway: FakePaymentGateway) -> None:
    clock, sinks = Clock(), Sinks()
    session = make(gateway, clock, sinks)
    session.start()
    clock.now += 61
    view = session.tick()
    assert view.state is QrState.EXPIRED
    assert gateway.calls[-1] == ("close", "K1-000042")
    assert gateway.orders["K1-000042"].state is OrderState.CLOSED


def test_cancel_that_finds_the_order_paid_reports_paid(gateway: FakePaymentGateway) -> None:
    clock, sinks = Clock(), Sinks()
    session = make(gateway, clock, sinks)
    session.start()
    gateway.pay("K1-000042")  # paid, notification not here yet
    view = session.cancel()
    assert view.state is QrState.PAID and sinks.paid[0].source == "close"


def test_cancelled_then_paid_late_is_refunded_once(gateway: FakePaymentGateway) -> None:
    clock, sinks = Clock(), Sinks()
    session = make(gateway, clock, sinks)
    session.start()
    assert session.cancel().state is QrState.CANCELLED
    gateway.accept_late_payments = True  # the payer's app had already submitted
    gateway.pay("K1-000042")
    body, headers = gateway.notification("K1-000042")
    late = session.handle_notification(body, headers)
    assert late == LatePayment("K1-000042", 12345, "FAKE000001", LateAction.REFUND, "K1-000042-late")
    assert session.handle_notification(body, headers) is None
    assert sinks.late == [late] and sinks.paid == []
    assert gateway.refunds == {"K1-000042-late": ("K1-000042", 12345)}
    assert session.state is QrState.CANCELLED


def test_late_payment_can_be_credited_instead(gateway: FakePaymentGateway) -> None:
    clock, sinks = Clock(), Sinks()
    session = make(gateway, clock, sinks, late_action=LateAction.CREDIT)
    session.start()
    clock.now += 61
    session.tick()
    gateway.accept_late_payments = True
    gateway.pay("K1-000042")
    session.handle_notification(*gateway.notification("K1-000042"))
    assert [late.action for late in sinks.late] == [LateAction.CREDIT] and gateway.refunds == {}


def test_unreachable_gateway_at_creation_says_so(gateway: FakePaymentGateway) -> None:
    clock, sinks = Clock(), Sinks()
    gateway.reachable = False
    assert make(gateway, clock, sinks).start().state is QrState.UNAVAILABLE


def test_query_failures_are_retried_silently(gateway: FakePaymentGateway) -> None:
    clock, sinks = Clock(), Sinks()
    session = make(gateway, clock, sinks)
    session.start()
    gateway.reachable = False
    clock.now += 1
    assert session.tick().state is QrState.WAITING
    gateway.reachable = True
    gateway.pay("K1-000042")
    clock.now += 2
    assert session.tick().state is QrState.PAID


def test_close_that_fails_gives_up_unconfirmed_then_settles_a_late_payment(gateway: FakePaymentGateway) -> None:
    clock, sinks = Clock(), Sinks()
    session = make(gateway, clock, sinks)
    session.start()
    gateway.reachable = False
    view = session.cancel()
    assert view.state is QrState.GIVEN_UP and view.message == MSG_UNCONFIRMED
    assert dict(view.params)["reference"] == "K1-000042"
    gateway.reachable = True
    gateway.pay("K1-000042")  # still open at the gateway, so the payment goes through
    clock.now += 1
    session.tick()  # retries the close: finds it paid
    assert [late.action for late in sinks.late] == [LateAction.REFUND]
    assert session.close_confirmed and sinks.paid == []


def test_refund_failure_is_recorded_as_pending_with_a_stable_refund_id(gateway: FakePaymentGateway) -> None:
    clock, sinks = Clock(), Sinks()
    session = make(gateway, clock, sinks)
    session.start()
    session.cancel()
    gateway.accept_late_payments = True
    gateway.pay("K1-000042")
    body, headers = gateway.notification("K1-000042")
    gateway.reachable = False
    late = session.handle_notification(body, headers)
    assert isinstance(late, LatePayment) and late.action is LateAction.REFUND_PENDING
    assert late.refund_id == "K1-000042-late"


def test_settle_open_order_after_restart(gateway: FakePaymentGateway) -> None:
    gateway.create_order("A", 100, "x", 60)
    gateway.create_order("B", 200, "x", 60)
    gateway.pay("B")
    assert settle_open_order(gateway, "A").state is OrderState.CLOSED
    paid = settle_open_order(gateway, "B")
    assert paid.state is OrderState.PAID and paid.amount_fen == 200 and paid.gateway_txn
    gateway.reachable = False
    with pytest.raises(GatewayError):
        settle_open_order(gateway, "A")


def test_amount_mismatch_in_a_signed_notification_is_checked_by_query(gateway: FakePaymentGateway) -> None:
    clock, sinks = Clock(), Sinks()
    session = make(gateway, clock, sinks)
    session.start()
    body = json.dumps({"order_id": "K1-000042", "state": "paid", "amount_fen": 1, "gateway_txn": "X"}).encode()
    headers = {"X-Fake-Signature": hmac.new(b"fake-gateway-secret", body, hashlib.sha256).hexdigest()}
    assert session.handle_notification(body, headers) is None  # the gateway says: not paid
    assert session.state is QrState.WAITING
