"""The `wechatpay` gateway driver (devices/gateway/wechatpay.py) through the PaymentGateway port, against
`kiosk sim wechatpay` as a real process: a Native order paid, notified and queried; forged notices refused;
close; refund; a lost answer resolved by query, never by a second order; faults as GatewayError."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devices.gateway.registry import build_payment_gateway
from devices.gateway.wechatpay import WeChatPayGateway
from kiosk.errors import BadSignature, ConfigError, GatewayError
from kiosk.ports import OrderState, PaymentGateway
from kiosk.settings import load_secrets
from tests.support.wechatpay_rig import NotifyListener, SimProcess, sim_process


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    with sim_process(tmp_path_factory.mktemp("wechatpay-keys")) as running:
        yield running


@pytest.fixture
def listener() -> Iterator[NotifyListener]:
    with NotifyListener() as running:
        yield running


@pytest.fixture
def gateway(sim: SimProcess, listener: NotifyListener) -> WeChatPayGateway:
    built = build_payment_gateway("wechatpay", sim.url, "", notify_url=listener.url, timeout_s=1.0,
                                  wechatpay_credentials=str(sim.keys / "credentials.json"))
    assert isinstance(built, WeChatPayGateway) and isinstance(built, PaymentGateway)
    return built


_counter = iter(range(1, 10**6))


def order_id() -> str:
    return f"KA{int(time.time())}{next(_counter):06d}"


def test_order_paid_through_the_port_is_confirmed_by_notification_and_by_query(
        gateway: WeChatPayGateway, sim: SimProcess, listener: NotifyListener) -> None:
    number = order_id()
    created = gateway.create_order(number, 12345, "物业费 2026-12", 300)
    assert created.state is OrderState.PENDING and created.code_url.startswith("weixin://wxpay/bizpayurl?pr=")
    assert gateway.query(number).state is OrderState.PENDING
    sim.control(action="pay", out_trade_no=number, delay_s=0)
    headers, body = listener.next()
    note = gateway.verify_notification(body.encode("utf-8"), headers)
    assert (note.order_id, note.state, note.amount_fen) == (number, OrderState.PAID, 12345)
    paid = gateway.query(number)
    assert paid.state is OrderState.PAID and paid.gateway_txn == note.gateway_txn and paid.paid_at is not None


def test_forged_or_altered_notification_raises_bad_signature(
        gateway: WeChatPayGateway, sim: SimProcess, listener: NotifyListener) -> None:
    number = order_id()
    gateway.create_order(number, 500, "物业费", 300)
    sim.control(action="forge_notification", out_trade_no=number)
    headers, body = listener.next()
    with pytest.raises(BadSignature):
        gateway.verify_notification(body.encode("utf-8"), headers)
    with pytest.raises(BadSignature):
        gateway.verify_notification(body.encode("utf-8"), {})


def test_close_ends_an_unpaid_order_and_leaves_a_paid_one_paid(gateway: WeChatPayGateway, sim: SimProcess) -> None:
    unpaid, paid = order_id(), order_id()
    gateway.create_order(unpaid, 100, "物业费", 300)
    gateway.create_order(paid, 100, "物业费", 300)
    sim.control(action="pay", out_trade_no=paid, notify="never")
    assert gateway.close(unpaid).state is OrderState.CLOSED
    assert gateway.close(paid).state is OrderState.PAID


def test_refund_is_idempotent_by_refund_id_and_never_exceeds_the_payment(
        gateway: WeChatPayGateway, sim: SimProcess, listener: NotifyListener) -> None:
    number = order_id()
    gateway.create_order(number, 3000, "物业费", 300)
    sim.control(action="pay", out_trade_no=number, notify="never")
    gateway.refund(number, f"R{number}", 3000)
    gateway.refund(number, f"R{number}", 3000)  # a retry: the same refund, no second one
    assert gateway.query(number).state is OrderState.REFUNDED
    assert gateway.refund_status(f"R{number}") == "SUCCESS"
    assert [r["amount"]["refund"] for r in sim.state()["refunds"] if r["out_trade_no"] == number] == [3000]
    with pytest.raises(GatewayError, match="INVALID_REQUEST"):
        gateway.refund(number, f"S{number}", 1)


def test_lost_answer_is_resolved_by_query_and_a_retry_makes_no_second_order(
        gateway: WeChatPayGateway, sim: SimProcess) -> None:
    number = order_id()
    sim.control(action="stall", count=1, seconds=1.5)
    with pytest.raises(GatewayError):
        gateway.create_order(number, 800, "物业费", 300)
    deadline = time.monotonic() + 5
    while True:
        try:
            found = gateway.query(number)
            break
        except GatewayError:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    assert found.state is OrderState.PENDING and found.amount_fen == 800
    again = gateway.create_order(number, 800, "物业费", 300)
    assert again.code_url and [o["out_trade_no"] for o in sim.state()["orders"]].count(number) == 1
    sim.control(action="pay", out_trade_no=number, notify="never")
    assert gateway.create_order(number, 800, "物业费", 300).state is OrderState.PAID


def test_server_error_and_bad_amounts_are_gateway_errors(gateway: WeChatPayGateway, sim: SimProcess) -> None:
    sim.control(action="fail", count=1, status=500)
    with pytest.raises(GatewayError, match="500 SYSTEM_ERROR"):
        gateway.create_order(order_id(), 100, "物业费", 300)
    for bad in (0, -1, 1.5, True, gateway.max_amount_fen + 1):
        with pytest.raises(GatewayError, match="not sent"):
            gateway.create_order(order_id(), bad, "物业费", 300)  # type: ignore[arg-type]


def test_public_key_mode_verifies_answers_and_notifications(sim: SimProcess, listener: NotifyListener) -> None:
    with sim_process(sim.keys, "--platform-mode", "public_key") as pk_sim:
        gateway = WeChatPayGateway(pk_sim.url, sim.keys / "credentials.json", notify_url=listener.url,
                                   platform_mode="public_key")
        number = order_id()
        gateway.create_order(number, 100, "物业费", 300)
        pk_sim.control(action="pay", out_trade_no=number, delay_s=0)
        headers, body = listener.next()
        assert gateway.verify_notification(body.encode("utf-8"), headers).state is OrderState.PAID


def test_missing_or_broken_credentials_are_config_errors(sim: SimProcess, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="secrets.wechatpay_credentials"):
        build_payment_gateway("wechatpay", sim.url, "")
    broken = tmp_path / "credentials.json"
    broken.write_text(json.dumps({**sim.credentials, "merchant_private_key": "nowhere.pem"}))
    with pytest.raises(ConfigError):
        WeChatPayGateway(sim.url, broken)


def test_secrets_file_names_the_credentials_file_or_leaves_it_empty(tmp_path: Path) -> None:
    assert load_secrets(tmp_path).wechatpay_credentials == ""
    with open(tmp_path / "secrets.toml", "a", encoding="utf-8") as fh:
        fh.write('wechatpay_credentials = "/etc/kiosk/wechatpay/credentials.json"\n')
    assert load_secrets(tmp_path).wechatpay_credentials == "/etc/kiosk/wechatpay/credentials.json"


def test_trade_bill_comes_back_as_rows_in_integer_fen(gateway: WeChatPayGateway, sim: SimProcess) -> None:
    from datetime import date, datetime, timedelta, timezone

    paid = order_id()
    gateway.create_order(paid, 10_001, "物业费", 300)
    sim.control(action="pay", out_trade_no=paid, notify="never")
    gateway.refund(paid, f"R{paid}", 1)
    today = datetime.now(timezone(timedelta(hours=8))).date()
    with pytest.raises(GatewayError, match="STATEMENT_CREATING"):
        gateway.trade_bill(today)
    sim.control(action="bills_today", ready=True)
    try:
        rows = [r for r in gateway.trade_bill(today) if r.out_trade_no == paid]
    finally:
        sim.control(action="bills_today", ready=False)
    assert sorted((r.state, r.amount_fen, r.out_refund_no) for r in rows) == [("REFUND", 1, f"R{paid}"),
                                                                            ("SUCCESS", 10_001, "")]
    assert gateway.trade_bill(date(2001, 1, 1)) == []


def test_bill_amounts_are_read_exactly_and_a_wrong_hash_is_refused() -> None:
    from devices.gateway.wechatpay_bill import fen_of, read_trade_bill

    assert [fen_of(t) for t in ("0.01", "123.45", "-0.05", "100000.00")] == [1, 12345, -5, 10_000_000]
    for bad in ("1.5", "1,00", "", "1e2", "0.001"):
        with pytest.raises(ValueError):
            fen_of(bad)
    with pytest.raises(GatewayError, match="SHA1"):
        read_trade_bill("交易时间\r\n".encode(), "0" * 40)


WECHAT_CODE = "134567890123456789"


def test_payment_code_paid_at_once_or_after_the_pin(gateway: WeChatPayGateway, sim: SimProcess) -> None:
    at_once = order_id()
    sim.control(action="codepay", buyer="pay")
    paid = gateway.pay_with_code(at_once, 2500, "物业费", WECHAT_CODE)
    assert paid.state is OrderState.PAID and paid.gateway_txn
    sim.control(action="codepay", buyer="pin", pin_ms=300)
    try:
        waiting = order_id()
        assert gateway.pay_with_code(waiting, 2500, "物业费", WECHAT_CODE).state is OrderState.PENDING
        settled = gateway.settle_code_payment(waiting, wait_s=5, poll_s=0.1)
        assert settled.state is OrderState.PAID
    finally:
        sim.control(action="codepay", buyer="pay")


def test_payment_code_never_confirmed_is_reversed_and_a_declined_one_is_closed(
        gateway: WeChatPayGateway, sim: SimProcess) -> None:
    try:
        sim.control(action="codepay", buyer="pin", pin_ms=None)
        stuck = order_id()
        assert gateway.pay_with_code(stuck, 900, "物业费", WECHAT_CODE).state is OrderState.PENDING
        assert gateway.settle_code_payment(stuck, wait_s=0.3, poll_s=0.1).state is OrderState.CLOSED
        assert next(o for o in sim.state()["orders"] if o["out_trade_no"] == stuck)["trade_state"] == "REVOKED"
        sim.control(action="codepay", buyer="decline")
        assert gateway.pay_with_code(order_id(), 900, "物业费", WECHAT_CODE).state is OrderState.CLOSED
    finally:
        sim.control(action="codepay", buyer="pay")
    with pytest.raises(GatewayError, match="PARAM_ERROR") as refused:
        gateway.pay_with_code(order_id(), 900, "物业费", "284567890123456789")
    assert "284567890123456789" not in str(refused.value)
