"""The unmodified python-alipay-sdk against `kiosk sim alipay` (a real process): every call signed by the
SDK and checked by the simulator, every answer signed by the simulator and verified by the SDK."""
from __future__ import annotations

import io
import socket
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from datetime import timedelta

import pytest
from alipay import AliPay
from alipay.exceptions import AliPayValidationError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from devices.sim.alipay_trades import china_now
from tests.alipay.conftest import NotifyListener, Sim

PAY_CODE = "287654321098765432"


def _no() -> str:
    return "K" + uuid.uuid4().hex[:20]


def _other_key_pem(private: bool) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if private:
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                 serialization.NoEncryption()).decode()
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _verified(client: AliPay, notify: dict[str, str]) -> bool:
    data = dict(notify)
    signature = data.pop("sign")
    return client.verify(data, signature)


def _wait_status(client: AliPay, out_trade_no: str, status: str, within_s: float = 5) -> dict:
    deadline = time.monotonic() + within_s
    while True:
        answer = client.api_alipay_trade_query(out_trade_no=out_trade_no)
        if answer.get("trade_status") == status or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)


def test_precreate_then_buyer_pays_and_the_signed_notify_verifies(sim: Sim, listener: NotifyListener) -> None:
    client = sim.client(notify_url=listener.url)
    out_no = _no()
    made = client.api_alipay_trade_precreate(subject="物业费 2026-11", out_trade_no=out_no, total_amount="128.05")
    assert made["code"] == "10000" and made["out_trade_no"] == out_no
    assert made["qr_code"].startswith("https://qr.alipay.com/")
    unscanned = client.api_alipay_trade_query(out_trade_no=out_no)
    assert (unscanned["code"], unscanned["sub_code"]) == ("40004", "ACQ.TRADE_NOT_EXIST")

    sim.control(action="pay", out_trade_no=out_no)
    notify = listener.next()
    assert notify["out_trade_no"] == out_no and notify["trade_status"] == "TRADE_SUCCESS"
    assert notify["total_amount"] == "128.05" and notify["sign_type"] == "RSA2"
    assert _verified(client, notify)
    paid = client.api_alipay_trade_query(out_trade_no=out_no)
    assert paid["trade_status"] == "TRADE_SUCCESS" and paid["total_amount"] == "128.05"
    assert paid["trade_no"] == notify["trade_no"]


def test_a_forged_or_altered_notify_does_not_verify(sim: Sim, listener: NotifyListener) -> None:
    client = sim.client(notify_url=listener.url)
    out_no = _no()
    client.api_alipay_trade_precreate(subject="水费", out_trade_no=out_no, total_amount="0.01")
    sim.control(action="pay", out_trade_no=out_no)
    genuine = listener.next()
    altered = {**genuine, "total_amount": "100.00"}
    assert not _verified(client, altered)
    forger = AliPay(appid=sim.credentials["app_id"], app_private_key_string=_other_key_pem(True),
                    alipay_public_key_string=_other_key_pem(False))
    fields = {k: v for k, v in genuine.items() if k not in ("sign", "sign_type")}
    forged = {**fields, "sign": forger._sign("&".join(f"{k}={v}" for k, v in sorted(fields.items())))}
    assert not _verified(client, forged)
    assert _verified(client, genuine)


def test_the_notify_is_retried_until_the_merchant_answers_success(sim: Sim, listener: NotifyListener) -> None:
    client = sim.client(notify_url=listener.url)
    out_no = _no()
    client.api_alipay_trade_precreate(subject="停车费", out_trade_no=out_no, total_amount="5")
    listener.answer = b"fail"
    sim.control(action="pay", out_trade_no=out_no)
    first = listener.next()
    listener.answer = b"success"
    second = listener.next()
    assert first["notify_id"] == second["notify_id"]
    deadline = time.monotonic() + 5  # the simulator records an attempt once it has read the answer
    while len(attempts := [n for n in sim.state()["notifications"] if n["out_trade_no"] == out_no]) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert [n["answer"] for n in attempts] == ["fail", "success"]


def test_bar_code_waits_for_the_pin_with_10003_then_query_finds_it_paid(sim: Sim) -> None:
    client = sim.client()
    sim.control(bar_code="pin", pin_ms=300)
    out_no = _no()
    answer = client.api_alipay_trade_pay(out_no, "bar_code", PAY_CODE, "物业费", total_amount="88.80")
    assert answer["code"] == "10003"
    assert client.api_alipay_trade_query(out_trade_no=out_no)["trade_status"] == "WAIT_BUYER_PAY"
    paid = _wait_status(client, out_no, "TRADE_SUCCESS")
    assert paid["trade_status"] == "TRADE_SUCCESS" and paid["buyer_pay_amount"] == "88.80"


def test_bar_code_paid_at_once_and_a_bad_code_refused(sim: Sim) -> None:
    client = sim.client()
    out_no = _no()
    answer = client.api_alipay_trade_pay(out_no, "bar_code", PAY_CODE, "物业费", total_amount="1.00")
    assert answer["code"] == "10000" and answer["total_amount"] == "1.00"
    bad = client.api_alipay_trade_pay(_no(), "bar_code", "134567890123456789", "物业费", total_amount="1.00")
    assert (bad["code"], bad["sub_code"]) == ("40004", "ACQ.PAYMENT_AUTH_CODE_INVALID")


def test_cancel_closes_a_trade_waiting_for_the_pin_and_refunds_a_paid_one(sim: Sim) -> None:
    client = sim.client()
    sim.control(bar_code="pin", pin_ms=None)
    waiting = _no()
    assert client.api_alipay_trade_pay(waiting, "bar_code", PAY_CODE, "物业费", total_amount="20.00")["code"] == "10003"
    cancelled = client.api_alipay_trade_cancel(out_trade_no=waiting)
    assert (cancelled["code"], cancelled["action"], cancelled["retry_flag"]) == ("10000", "close", "N")
    assert client.api_alipay_trade_query(out_trade_no=waiting)["trade_status"] == "TRADE_CLOSED"

    sim.control(bar_code="pay")
    paid = _no()
    client.api_alipay_trade_pay(paid, "bar_code", PAY_CODE, "物业费", total_amount="20.00")
    assert client.api_alipay_trade_cancel(out_trade_no=paid)["action"] == "refund"
    assert client.api_alipay_trade_query(out_trade_no=paid)["trade_status"] == "TRADE_CLOSED"


def test_close_only_an_unpaid_trade(sim: Sim) -> None:
    client = sim.client()
    out_no = _no()
    client.api_alipay_trade_precreate(subject="水费", out_trade_no=out_no, total_amount="3.00")
    assert client.api_alipay_trade_close(out_trade_no=out_no)["sub_code"] == "ACQ.TRADE_NOT_EXIST"
    sim.control(action="scan", out_trade_no=out_no)
    assert client.api_alipay_trade_close(out_trade_no=out_no)["code"] == "10000"
    again = client.api_alipay_trade_precreate(subject="水费", out_trade_no=out_no, total_amount="3.00")
    assert again["sub_code"] == "ACQ.TRADE_HAS_CLOSE"


def test_refund_partial_retried_idempotently_and_never_beyond_the_total(sim: Sim) -> None:
    client = sim.client()
    out_no = _no()
    client.api_alipay_trade_pay(out_no, "bar_code", PAY_CODE, "物业费", total_amount="10.00")
    first = client.api_alipay_trade_refund("3.30", out_trade_no=out_no, out_request_no="R1")
    assert (first["code"], first["fund_change"], first["refund_fee"]) == ("10000", "Y", "3.30")
    retry = client.api_alipay_trade_refund("3.30", out_trade_no=out_no, out_request_no="R1")
    assert (retry["fund_change"], retry["refund_fee"]) == ("N", "3.30")
    over = client.api_alipay_trade_refund("6.71", out_trade_no=out_no, out_request_no="R2")
    assert (over["code"], over["sub_code"]) == ("40004", "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL")
    rest = client.api_alipay_trade_refund("6.70", out_trade_no=out_no, out_request_no="R2")
    assert rest["refund_fee"] == "10.00"
    assert client.api_alipay_trade_query(out_trade_no=out_no)["trade_status"] == "TRADE_CLOSED"


def test_a_request_signed_with_another_key_is_refused(sim: Sim) -> None:
    c = sim.credentials
    stranger = AliPay(appid=c["app_id"], app_private_key_string=_other_key_pem(True),
                      alipay_public_key_string=open(c["alipay_public_key_path"]).read())
    stranger._gateway = c["gateway_url"]
    answer = stranger.api_alipay_trade_query(out_trade_no=_no())
    assert (answer["code"], answer["sub_code"]) == ("40002", "isv.invalid-signature")


def test_an_answer_not_signed_by_the_platform_key_is_rejected_by_the_sdk(sim: Sim) -> None:
    client = sim.client(alipay_public_key=_other_key_pem(False))
    with pytest.raises(AliPayValidationError):
        client.api_alipay_trade_query(out_trade_no=_no())


def test_a_5xx_and_a_stalled_answer_reach_the_caller_and_the_stalled_call_was_processed(sim: Sim) -> None:
    client = sim.client(timeout=0.5)
    sim.control(fault="5xx", fault_count=1)
    with pytest.raises(urllib.error.HTTPError) as failed:
        client.api_alipay_trade_precreate(subject="x", out_trade_no=_no(), total_amount="1.00")
    assert failed.value.code == 502
    sim.control(fault="timeout", fault_count=1, stall_ms=1500)
    out_no = _no()
    with pytest.raises((socket.timeout, TimeoutError, urllib.error.URLError)):
        client.api_alipay_trade_pay(out_no, "bar_code", PAY_CODE, "物业费", total_amount="2.00")
    assert client.api_alipay_trade_query(out_trade_no=out_no)["trade_status"] == "TRADE_SUCCESS"


def test_the_bill_download_url_serves_the_days_payments_and_refunds(sim: Sim) -> None:
    client = sim.client()
    out_no = _no()
    client.api_alipay_trade_pay(out_no, "bar_code", PAY_CODE, "物业费", total_amount="12.34")
    client.api_alipay_trade_refund("1.00", out_trade_no=out_no, out_request_no="B1")
    today = client.server_api("alipay.data.dataservice.bill.downloadurl.query",
                              {"bill_type": "trade", "bill_date": china_now().date().isoformat()})
    assert today["sub_code"] == "isp.bill_not_exist"  # a day's bill exists only once the day is over
    yesterday = client.server_api("alipay.data.dataservice.bill.downloadurl.query",
                                  {"bill_type": "trade", "bill_date": (china_now().date() - timedelta(days=1)).isoformat()})
    assert yesterday["code"] == "10000"
    url = yesterday["bill_download_url"].replace((china_now().date() - timedelta(days=1)).isoformat(),
                                                 china_now().date().isoformat())
    with urllib.request.urlopen(url, timeout=5) as response:
        archive = zipfile.ZipFile(io.BytesIO(response.read()))
    detail = [n for n in archive.namelist() if "汇总" not in n]
    text = archive.read(detail[0]).decode("gbk")
    lines = [line for line in text.splitlines() if out_no in line]
    assert len(lines) == 2 and "12.34" in lines[0] and "-1.00" in lines[1]
