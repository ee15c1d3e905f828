"""The unmodified wechatpayv3 SDK against `kiosk sim wechatpay` (a real process): Native order, query,
payment notification verified and decrypted by the SDK, forged notification refused, close, refund, faults."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.support.wechatpay_rig import NotifyListener, SimProcess, sim_process


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    with sim_process(tmp_path_factory.mktemp("wechatpay-keys")) as running:
        yield running


@pytest.fixture
def listener() -> Iterator[NotifyListener]:
    with NotifyListener() as running:
        yield running


_counter = iter(range(1, 10**6))


def out_trade_no() -> str:
    return f"KT{int(time.time())}{next(_counter):06d}"


def native_order(wx, number: str, total: int = 12345) -> str:  # type: ignore[no-untyped-def]
    code, body = wx.pay(description="物业费 2026-12 1栋101", out_trade_no=number, amount={"total": total})
    assert code == 200, body
    return json.loads(body)["code_url"]


def query(wx, number: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    code, body = wx.query(out_trade_no=number)
    assert code == 200, body
    return json.loads(body)


def test_native_order_gives_a_weixin_code_url_and_queries_as_notpay(sim: SimProcess, listener: NotifyListener) -> None:
    wx = sim.client(listener.url)
    number = out_trade_no()
    code_url = native_order(wx, number)
    assert code_url.startswith("weixin://wxpay/bizpayurl?pr=")
    order = query(wx, number)
    assert order["trade_state"] == "NOTPAY" and order["amount"]["total"] == 12345
    assert order["mchid"] == sim.credentials["mchid"] and "transaction_id" not in order
    assert native_order(wx, number) == code_url  # the same order again: the same code, not a second order


def test_paid_order_notification_is_verified_and_decrypted_by_the_sdk(sim: SimProcess,
                                                                      listener: NotifyListener) -> None:
    wx = sim.client(listener.url)
    number = out_trade_no()
    native_order(wx, number, total=8800)
    status, paid = sim.control(action="pay", out_trade_no=number, delay_s=0)
    assert status == 200 and paid["trade_state"] == "SUCCESS"
    headers, body = listener.next()
    event = wx.callback(headers, body)
    assert event is not None and event["event_type"] == "TRANSACTION.SUCCESS"
    resource = event["resource"]
    assert resource["out_trade_no"] == number and resource["trade_state"] == "SUCCESS"
    assert resource["amount"]["total"] == 8800 and resource["transaction_id"] == paid["transaction_id"]
    assert query(wx, number)["trade_state"] == "SUCCESS"


def test_forged_or_altered_notification_is_refused_by_the_sdk(sim: SimProcess, listener: NotifyListener) -> None:
    wx = sim.client(listener.url)
    number = out_trade_no()
    native_order(wx, number)
    assert sim.control(action="forge_notification", out_trade_no=number)[0] == 200
    headers, body = listener.next()
    assert wx.callback(headers, body) is None
    sim.control(action="pay", out_trade_no=number, delay_s=0)
    headers, body = listener.next()
    assert wx.callback(headers, body) is not None
    assert wx.callback(headers, body.replace('"summary":"支付成功"', '"summary":"支付成功 "')) is None


def test_notification_is_retried_until_the_merchant_answers_2xx(sim: SimProcess, listener: NotifyListener) -> None:
    wx = sim.client(listener.url)
    number = out_trade_no()
    native_order(wx, number)
    listener.answers = [500]
    sim.control(action="pay", out_trade_no=number, delay_s=0)
    first, second = listener.next(), listener.next()
    assert json.loads(first[1])["id"] == json.loads(second[1])["id"]
    deadline = time.monotonic() + 5  # the simulator records a delivery once it has read the answer
    while len(attempts := [d for d in sim.state()["deliveries"] if d["url"] == listener.url]) < 2:
        assert time.monotonic() < deadline, attempts
        time.sleep(0.02)
    assert [(d["attempt"], d["status"]) for d in attempts] == [(1, 500), (2, 204)]


def test_closed_order_cannot_be_paid_or_created_again(sim: SimProcess, listener: NotifyListener) -> None:
    wx = sim.client(listener.url)
    number = out_trade_no()
    native_order(wx, number)
    assert wx.close(number) == (204, b"")
    assert query(wx, number)["trade_state"] == "CLOSED"
    status, refused = sim.control(action="pay", out_trade_no=number)
    assert status == 409 and refused["code"] == "ORDER_NOT_PAYABLE"
    code, body = wx.pay(description="物业费", out_trade_no=number, amount={"total": 12345})
    assert code == 400 and json.loads(body)["code"] == "ORDER_CLOSED"


def test_paid_order_cannot_be_closed(sim: SimProcess, listener: NotifyListener) -> None:
    wx = sim.client(listener.url)
    number = out_trade_no()
    native_order(wx, number)
    sim.control(action="pay", out_trade_no=number, notify="never")
    code, body = wx.close(number)
    assert code == 400 and json.loads(body)["code"] == "ORDERPAID"


def test_refund_then_refund_query_and_refund_notification(sim: SimProcess, listener: NotifyListener) -> None:
    wx = sim.client(listener.url)
    number = out_trade_no()
    native_order(wx, number, total=5000)
    sim.control(action="pay", out_trade_no=number, notify="never")
    code, body = wx.refund(out_refund_no=f"R{number}", out_trade_no=number, notify_url=listener.url,
                           amount={"refund": 2000, "total": 5000, "currency": "CNY"})
    assert code == 200, body
    refund = json.loads(body)
    assert refund["status"] == "PROCESSING" and refund["amount"]["refund"] == 2000
    code, body = wx.query_refund(f"R{number}")
    assert code == 200 and json.loads(body)["status"] == "SUCCESS"
    event = wx.callback(*listener.next())
    assert event is not None and event["event_type"] == "REFUND.SUCCESS"
    assert event["resource"]["refund_status"] == "SUCCESS" and event["resource"]["amount"]["refund"] == 2000
    assert query(wx, number)["trade_state"] == "REFUND"
    code, body = wx.refund(out_refund_no=f"S{number}", out_trade_no=number,
                           amount={"refund": 3001, "total": 5000, "currency": "CNY"})
    assert code == 400 and json.loads(body)["code"] == "INVALID_REQUEST"


def test_request_signed_with_another_key_is_refused_with_sign_error(sim: SimProcess, listener: NotifyListener) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    wx = sim.client(listener.url, private_key=stranger)
    code, body = wx.pay(description="物业费", out_trade_no=out_trade_no(), amount={"total": 100})
    assert code == 401 and json.loads(body)["code"] == "SIGN_ERROR"
    unsigned = requests.get(f"{sim.url}/v3/pay/transactions/out-trade-no/X123456?mchid=1", timeout=5)
    assert unsigned.status_code == 401 and unsigned.json()["code"] == "SIGN_ERROR"


def test_unknown_platform_serial_makes_the_sdk_download_and_decrypt_the_certificates(
        sim: SimProcess, listener: NotifyListener, tmp_path: Path) -> None:
    _write_unrelated_certificate(tmp_path)
    wx = sim.client(listener.url, cert_dir=tmp_path)
    number = out_trade_no()
    native_order(wx, number)  # the answer's serial is not in cert_dir: the SDK fetches /v3/certificates
    serial = sim.credentials["platform_serial_no"]
    assert (tmp_path / f"{serial}.pem").read_text() == sim.key_text("platform_certificate")


def test_public_key_mode_answers_verify_with_the_platform_public_key(
        tmp_path: Path, sim: SimProcess, listener: NotifyListener) -> None:
    with sim_process(sim.keys, "--platform-mode", "public_key") as pk_sim:
        wx = pk_sim.client(listener.url, public_key_mode=True)
        number = out_trade_no()
        native_order(wx, number)
        pk_sim.control(action="pay", out_trade_no=number, delay_s=0)
        headers, body = listener.next()
        assert headers["Wechatpay-Serial"] == sim.credentials["platform_public_key_id"]
        assert wx.callback(headers, body)["resource"]["trade_state"] == "SUCCESS"


def test_server_errors_and_a_stalled_gateway_then_the_query_finds_the_order(
        sim: SimProcess, listener: NotifyListener) -> None:
    wx = sim.client(listener.url, timeout=(2, 0.5))
    sim.control(action="fail", count=1, status=500)
    code, body = wx.pay(description="物业费", out_trade_no=out_trade_no(), amount={"total": 100})
    assert code == 500 and json.loads(body)["code"] == "SYSTEM_ERROR"
    number = out_trade_no()
    sim.control(action="stall", count=1, seconds=1.0)
    with pytest.raises(requests.exceptions.ReadTimeout):
        wx.pay(description="物业费", out_trade_no=number, amount={"total": 100})
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        code, body = wx.query(out_trade_no=number)
        if code == 200:
            break
        time.sleep(0.1)
    assert code == 200 and json.loads(body)["trade_state"] == "NOTPAY"


def test_late_payment_lands_after_a_delay_and_never_after_close(sim: SimProcess, listener: NotifyListener) -> None:
    wx = sim.client(listener.url)
    late, closed = out_trade_no(), out_trade_no()
    native_order(wx, late)
    native_order(wx, closed)
    assert sim.control(action="pay", out_trade_no=late, after_s=0.3, notify="never")[0] == 202
    assert sim.control(action="pay", out_trade_no=closed, after_s=0.3, notify="never")[0] == 202
    assert query(wx, late)["trade_state"] == "NOTPAY"
    wx.close(closed)
    time.sleep(0.6)
    assert query(wx, late)["trade_state"] == "SUCCESS"
    assert query(wx, closed)["trade_state"] == "CLOSED"


def test_credentials_json_names_every_value_and_existing_key_file(sim: SimProcess) -> None:
    creds = sim.credentials
    for name in ("mchid", "appid", "merchant_serial_no", "apiv3_key", "platform_serial_no", "platform_public_key_id"):
        assert creds[name]
    assert len(creds["apiv3_key"]) == 32
    for name in ("merchant_private_key", "merchant_public_key", "platform_certificate", "platform_public_key",
                 "platform_private_key"):
        assert (sim.keys / creds[name]).is_file()
    assert (sim.keys / creds["platform_cert_dir"] / f"{creds['platform_serial_no']}.pem").is_file()


def _write_unrelated_certificate(directory: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "an older platform certificate")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30)).sign(key, hashes.SHA256()))
    (directory / "old.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def test_trade_bill_lists_the_days_payments_and_refunds_in_yuan_with_its_sha1(
        sim: SimProcess, listener: NotifyListener) -> None:
    import csv
    import gzip
    import hashlib
    import io

    wx = sim.client(listener.url)
    paid, refunded = out_trade_no(), out_trade_no()
    native_order(wx, paid, total=12345)
    native_order(wx, refunded, total=100)
    for number in (paid, refunded):
        sim.control(action="pay", out_trade_no=number, notify="never")
    wx.refund(out_refund_no=f"R{refunded}", out_trade_no=refunded, amount={"refund": 5, "total": 100, "currency": "CNY"})
    today = datetime.now(timezone(timedelta(hours=8))).date().isoformat()
    code, body = wx.trade_bill(today)
    assert code == 400 and json.loads(body)["code"] == "STATEMENT_CREATING"
    sim.control(action="bills_today", ready=True)
    try:
        code, body = wx.trade_bill(today)
    finally:
        sim.control(action="bills_today", ready=False)
    assert code == 200, body
    answer = json.loads(body)
    code, content = wx.download_bill(answer["download_url"])
    assert code == 200
    raw = gzip.decompress(content)
    assert hashlib.sha1(raw).hexdigest() == answer["hash_value"]
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
    ours = [[v.lstrip("`") for v in r] for r in rows if len(r) > 6 and r[6].lstrip("`") in (paid, refunded)]
    assert sorted((r[6], r[9], r[12], r[16]) for r in ours) == sorted([
        (paid, "SUCCESS", "123.45", "0.00"), (refunded, "SUCCESS", "1.00", "0.00"),
        (refunded, "REFUND", "0.00", "0.05")])
    assert rows[-2][0] == "总交易单数" and int(rows[-1][0].lstrip("`")) == len(rows) - 3
    code, body = wx.trade_bill("2001-01-01")
    assert code == 400 and json.loads(body)["code"] == "NO_STATEMENT_EXIST"


WECHAT_PAYMENT_CODE = "134567890123456789"


def codepay(wx, number: str, total: int = 2500, auth_code: str = WECHAT_PAYMENT_CODE):  # type: ignore[no-untyped-def]
    from wechatpayv3 import WeChatPayType

    code, body = wx.pay(description="物业费", out_trade_no=number, amount={"total": total},
                        payer={"auth_code": auth_code}, scene_info={"store_info": {"out_id": "KIOSK-01"}},
                        pay_type=WeChatPayType.CODEPAY)
    return code, json.loads(body)


def test_codepay_paid_at_once_answers_the_transaction(sim: SimProcess, listener: NotifyListener) -> None:
    wx = sim.client(listener.url)
    sim.control(action="codepay", buyer="pay")
    number = out_trade_no()
    code, paid = codepay(wx, number)
    assert code == 200 and paid["trade_state"] == "SUCCESS" and paid["trade_type"] == "MICROPAY"
    assert paid["transaction_id"] and paid["amount"]["payer_total"] == 2500
    code, bad = codepay(wx, out_trade_no(), auth_code="284567890123456789")  # an Alipay code
    assert code == 400 and bad["code"] == "PARAM_ERROR"


def test_codepay_waits_in_userpaying_until_the_pin_then_query_finds_it_paid(
        sim: SimProcess, listener: NotifyListener) -> None:
    wx = sim.client(listener.url)
    sim.control(action="codepay", buyer="pin", pin_ms=300)
    try:
        number = out_trade_no()
        code, waiting = codepay(wx, number)  # a 202 is verified by the SDK like any 2xx
        assert code == 202 and waiting["code"] == "USERPAYING"
        assert query(wx, number)["trade_state"] == "USERPAYING"
        time.sleep(0.4)
        assert query(wx, number)["trade_state"] == "SUCCESS"
    finally:
        sim.control(action="codepay", buyer="pay")


def test_codepay_that_never_finishes_is_reversed_and_a_declined_one_is_payerror(
        sim: SimProcess, listener: NotifyListener) -> None:
    wx = sim.client(listener.url)
    try:
        sim.control(action="codepay", buyer="pin", pin_ms=None)
        stuck = out_trade_no()
        assert codepay(wx, stuck)[0] == 202
        assert wx.codepay_reverse(stuck) == (204, b"")
        assert query(wx, stuck)["trade_state"] == "REVOKED"
        sim.control(action="codepay", buyer="decline")
        declined = out_trade_no()
        code, answer = codepay(wx, declined)
        assert code == 403 and answer["code"] == "NOTENOUGH"
        assert query(wx, declined)["trade_state"] == "PAYERROR"
    finally:
        sim.control(action="codepay", buyer="pay")
    native = out_trade_no()
    native_order(wx, native)
    code, body = wx.codepay_reverse(native)
    assert code == 400 and json.loads(body)["code"] == "INVALID_REQUEST"
