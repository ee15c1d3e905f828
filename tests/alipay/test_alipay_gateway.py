"""AlipayGateway (the kiosk's gateway port over python-alipay-sdk) against `kiosk sim alipay` as a real process."""
from __future__ import annotations

import queue
import time
import urllib.parse
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.gateway.alipay import AlipayGateway, fen_from_yuan, yuan_from_fen
from devices.gateway.notify_listener import NotificationListener
from devices.gateway.registry import build_payment_gateway
from kiosk.errors import BadSignature, ConfigError, GatewayError
from kiosk.payments.qr_session import Backoff, QrPayment, QrSession, QrState
from kiosk.ports import GatewayNotification, OrderState, PaymentGateway
from tests.alipay.conftest import Sim


def _gateway(sim: Sim, **options: object) -> AlipayGateway:
    c = sim.credentials
    built = build_payment_gateway("alipay", c["gateway_url"], "", app_id=c["app_id"],
                                  app_private_key_file=c["app_private_key_path"],
                                  alipay_public_key_file=c["alipay_public_key_path"], **options)
    assert isinstance(built, AlipayGateway)
    return built


def _order_id() -> str:
    return "K7-" + uuid.uuid4().hex[:16]


def test_the_registry_builds_an_alipay_client_that_implements_the_port(sim: Sim) -> None:
    assert isinstance(_gateway(sim), PaymentGateway)


def test_a_missing_or_unreadable_key_file_is_a_config_error_naming_the_secret(sim: Sim, tmp_path) -> None:
    c = sim.credentials
    with pytest.raises(ConfigError, match="alipay_public_key_file"):
        AlipayGateway(c["gateway_url"], c["app_id"], c["app_private_key_path"], str(tmp_path / "absent.pem"))
    (tmp_path / "junk.pem").write_text("not a key\n")
    with pytest.raises(ConfigError, match="key files"):
        AlipayGateway(c["gateway_url"], c["app_id"], str(tmp_path / "junk.pem"), c["alipay_public_key_path"])


def test_a_resident_pays_the_code_and_the_session_settles_once_from_the_notify(sim: Sim) -> None:
    paid: list[QrPayment] = []
    notes: queue.Queue[GatewayNotification] = queue.Queue()
    holder: dict[str, QrSession] = {}

    def handle(body: bytes, headers: object) -> None:
        holder["session"].handle_notification(body, headers)  # type: ignore[arg-type]
        notes.put(gateway.verify_notification(body, {}))

    with NotificationListener(handle) as listener:
        gateway = _gateway(sim, notify_url=listener.url)
        order_id = _order_id()
        session = QrSession(gateway, order_id, 12805, "物业管理费 2026-11", paid.append, lambda late: None,
                            timeout_s=30, backoff=Backoff(5.0, 5.0, 0.0))
        holder["session"] = session
        view = session.start()
        assert view.code_url.startswith("https://qr.alipay.com/")
        assert gateway.query(order_id).state is OrderState.PENDING  # not scanned yet: Alipay knows no trade
        sim.control(action="pay", out_trade_no=order_id)
        note = notes.get(timeout=5)
        assert (note.order_id, note.state, note.amount_fen) == (order_id, OrderState.PAID, 12805)
        assert session.state is QrState.PAID and len(paid) == 1 and paid[0].gateway_txn == note.gateway_txn
        found = gateway.query(order_id)
        assert (found.state, found.amount_fen, found.gateway_txn) == (OrderState.PAID, 12805, note.gateway_txn)


def test_an_altered_notify_is_refused_as_a_bad_signature(sim: Sim) -> None:
    bodies: queue.Queue[bytes] = queue.Queue()
    with NotificationListener(lambda body, headers: bodies.put(body)) as listener:
        gateway = _gateway(sim, notify_url=listener.url)
        order_id = _order_id()
        gateway.create_order(order_id, 100, "水费", 120)
        sim.control(action="pay", out_trade_no=order_id)
        body = bodies.get(timeout=5)
    assert gateway.verify_notification(body, {}).amount_fen == 100
    fields = dict(urllib.parse.parse_qsl(body.decode()))
    altered = urllib.parse.urlencode({**fields, "total_amount": "1000.00"}).encode()
    with pytest.raises(BadSignature):
        gateway.verify_notification(altered, {})
    with pytest.raises(BadSignature):
        gateway.verify_notification(b"not=a&sign=", {})


def test_close_before_the_scan_closes_it_for_good_and_a_paid_order_stays_paid(sim: Sim) -> None:
    gateway = _gateway(sim)
    unscanned = _order_id()
    gateway.create_order(unscanned, 500, "停车费", 120)
    assert gateway.close(unscanned).state is OrderState.CLOSED
    sim.control(action="pay", out_trade_no=unscanned)
    time.sleep(0.2)
    assert gateway.query(unscanned).state is OrderState.CLOSED  # the late scan cannot pay a closed trade

    paid = _order_id()
    gateway.create_order(paid, 500, "停车费", 120)
    sim.control(action="pay", out_trade_no=paid)
    deadline = time.monotonic() + 5
    while gateway.query(paid).state is not OrderState.PAID:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert gateway.close(paid).state is OrderState.PAID


def test_a_create_that_timed_out_is_created_again_with_the_same_out_trade_no(sim: Sim) -> None:
    gateway = _gateway(sim, timeout_s=0.4)
    order_id = _order_id()
    sim.control(fault="timeout", fault_count=1, stall_ms=1000)
    with pytest.raises(GatewayError):
        gateway.create_order(order_id, 2500, "物业费", 120)
    again = gateway.create_order(order_id, 2500, "物业费", 120)
    assert again.code_url.startswith("https://qr.alipay.com/")
    assert [t["out_trade_no"] for t in sim.state()["trades"]].count(order_id) == 1
    sim.control(fault="5xx", fault_count=1)
    with pytest.raises(GatewayError, match="502"):
        gateway.query(order_id)


def test_refund_is_idempotent_and_bounded_and_a_full_refund_reads_refunded(sim: Sim) -> None:
    gateway = _gateway(sim)
    order_id = _order_id()
    gateway.create_order(order_id, 1000, "物业费", 120)
    sim.control(action="pay", out_trade_no=order_id)
    deadline = time.monotonic() + 5
    while gateway.query(order_id).state is not OrderState.PAID:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    gateway.refund(order_id, "R-1", 330)
    gateway.refund(order_id, "R-1", 330)
    with pytest.raises(GatewayError, match="REFUND_AMT"):
        gateway.refund(order_id, "R-2", 671)
    gateway.refund(order_id, "R-2", 670)
    assert gateway.query(order_id).state is OrderState.REFUNDED


def test_the_bill_url_is_asked_for_a_past_day(sim: Sim) -> None:
    assert "/sim/bill/2026-01-02.zip" in _gateway(sim).bill_download_url("2026-01-02")


@given(st.integers(min_value=0, max_value=10**12 - 1))
def test_fen_and_yuan_strings_convert_exactly_both_ways(fen: int) -> None:
    assert fen_from_yuan(yuan_from_fen(fen)) == fen


@pytest.mark.parametrize("text", ["1.234", "1e3", "-1.00", " 1", "1.", ".5", "01.00", "NaN", ""])
def test_a_yuan_string_that_is_not_plain_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        fen_from_yuan(text)


def test_the_days_bill_lists_each_payment_and_refund_once_in_fen(sim: Sim) -> None:
    from devices.sim.alipay_trades import china_now

    gateway = _gateway(sim)
    assert gateway.trade_bill(china_now().date()) == []  # today's bill does not exist before tomorrow
    order_id = _order_id()
    gateway.create_order(order_id, 12345, "物业费", 120)
    sim.control(action="pay", out_trade_no=order_id)
    deadline = time.monotonic() + 5
    while gateway.query(order_id).state is not OrderState.PAID:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    gateway.refund(order_id, "RB-1", 45)
    sim.control(bill_lag_days=0)
    rows = [r for r in gateway.trade_bill(china_now().date()) if r.out_trade_no == order_id]
    assert [(r.state, r.amount_fen, r.out_refund_no) for r in rows] == [("SUCCESS", 12345, ""), ("REFUND", 45, "RB-1")]
    assert rows[0].transaction_id == gateway.query(order_id).gateway_txn
