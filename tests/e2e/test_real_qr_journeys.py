"""Every QR journey on screen, both networks and both directions, on the REAL runtime: the kiosk as `kiosk demo`
assembles it (the WeChat Pay and Alipay simulators, the payment-code scanner on its pty), real X11 clicks on the
pay page and on the demo bar (the phone paying, the payment code held to the scanner, the PIN entered). One app
start serves every journey (each on its own household); each ends with the receipt printed and the ledger checked,
or (cancel) with the order reversed at the network and nothing on the books."""
from __future__ import annotations

import json
import os
import re
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from kiosk.flows.records import BILL_KIND_LABELS
from kiosk.i18n import format_money, translate
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Bill, GatewayOrderRecord, Household, Payment, Receipt
from tests.e2e.harness import RealKioskProcess
from tests.e2e.test_real_journeys import Db, _affordable_bill, _receipt_number, _staff_sign_in, _tap_card

pytestmark = pytest.mark.xvfb
SIMS = re.compile(r"demo simulators: (.*)$", re.M)
SHOTS = os.environ.get("KIOSK_QR_SHOTS")  # a folder: keep screenshots of the pages for a person to look at


@pytest.fixture(scope="module")
def real(display, tmp_path_factory):
    with RealKioskProcess(display, tmp_path_factory.mktemp("qr") / "data") as app:
        app.wait_for_text("您好，和悦花园", 30)
        yield app


def _sim_state(real: RealKioskProcess, network: str) -> dict[str, Any]:
    """What the network's simulator (inside the kiosk process) knows: GET BASE/sim/state."""
    urls = dict(part.split(" ", 1) for part in SIMS.search(real.log_text).group(1).split(", "))
    base = urls[network].removesuffix("/gateway.do")
    with urllib.request.urlopen(f"{base}/sim/state", timeout=10) as answer:
        return json.loads(answer.read())


def _more(real: RealKioskProcess, action: str) -> None:
    """A demo bar action kept under 更多 (the payment-code ones always are)."""
    real.click("更多")
    real.click(action)


def _start(real: RealKioskProcess, db: Db, unit: str, network: str, direction: str):
    """Sign in with the unit's card, tick its smallest bill, 扫码支付, the network and the direction rows, Next and
    confirm: the payment starts. Returns the bill."""
    bills, bill, _card = _affordable_bill(db, unit)
    _tap_card(real, f"{unit} resident")
    real.wait_for_route("household")
    real.click("缴费")
    real.wait_for_text("请选择要缴的账单和支付方式")
    for b in bills:  # rows below the fold are tapped through the hook (a person would scroll first)
        if b != bill:
            real.cmd(cmd="tap", text=f"{translate(BILL_KIND_LABELS[b.kind], 'zh_Hans')} {b.period}")
    total = format_money(bill.amount_fen, "zh_Hans")
    real.wait_until(lambda: total in real.state()["texts"], 10, f"the total {total}")
    real.click("扫码支付")
    real.click(network)  # 微信支付 / 支付宝 (WeChat Pay is preselected: tapping it again keeps it)
    real.click(direction)  # 扫描终端上的二维码 / 出示付款码
    real.click("下一步")
    state = real.wait_for_text("确认支付")
    assert any(network in t and direction in t for t in state["texts"]), state["texts"]  # the confirm page says it
    real.click("确认支付")
    return bill


def _paid(real: RealKioskProcess, db: Db, unit: str, bill, network: str, kind: str) -> str:
    """The done page, the bill paid by QR on `network`, the order recorded as `kind`, the books balanced, the
    receipt printed; then the card off and back to the start. Returns the receipt number."""
    number = _receipt_number(real.wait_for_text("支付成功，谢谢！", 60))
    with unit_of_work(db.factory) as s:
        assert s.get(Bill, int(bill.bill_id)).status == "paid"
        receipt = s.scalars(select(Receipt).where(Receipt.number == int(number))).one()
        payment = s.get(Payment, receipt.payment_id)
        hh = s.scalars(select(Household).where(Household.unit_no == unit)).one()
        assert (payment.method, payment.amount_fen, receipt.household_id) == ("qr", bill.amount_fen, hh.id)
        (order,) = s.scalars(select(GatewayOrderRecord).where(GatewayOrderRecord.payment_id == payment.id))
        assert (order.network, order.kind, order.state, order.amount_fen) == (network, kind, "paid", bill.amount_fen)
        assert order.gateway_txn
    db.assert_ledger_balanced()
    printed = real.wait_for_receipt(lambda r: any(number in line for line in r["lines"]))
    assert printed["complete"] and not printed["errors"]
    assert any(f"{bill.amount_fen // 100}.{bill.amount_fen % 100:02d}" in line for line in printed["lines"])
    real.click("取走卡片")
    real.click("重新开始")
    real.wait_for_route("attract")
    return number


def _units(db: Db) -> list[str]:
    with unit_of_work(db.factory) as s:
        return list(s.scalars(select(Household.unit_no).order_by(Household.id)))


def test_wechat_pay_the_resident_scans_the_kiosks_code(real):
    db = Db(real.data_dir)
    unit = _units(db)[0]
    bill = _start(real, db, unit, "微信支付", "扫描终端上的二维码")
    state = real.wait_until(lambda: (s := real.state()).get("qr") and s, 20, "the kiosk's code")
    assert state["qr"][0].startswith("weixin://wxpay/bizpayurl?pr=")
    real.click("扫描二维码")  # demo bar: the phone scans the code and pays
    _paid(real, db, unit, bill, "wechatpay", "native")
    (order,) = [o for o in _sim_state(real, "wechatpay")["orders"] if o["trade_type"] == "NATIVE"]
    assert order["trade_state"] == "SUCCESS" and order["amount"]["total"] == bill.amount_fen


def test_wechat_pay_the_resident_shows_the_payment_code(real):
    db = Db(real.data_dir)
    unit = _units(db)[1]
    bill = _start(real, db, unit, "微信支付", "出示付款码")
    real.wait_for_text("请在支付应用中打开付款码", 20)
    _more(real, "出示微信付款码")  # demo bar: the scanner reads a fresh WeChat code
    _paid(real, db, unit, bill, "wechatpay", "code")
    assert [o["trade_state"] for o in _sim_state(real, "wechatpay")["orders"] if o["trade_type"] == "MICROPAY"] \
        == ["SUCCESS"]


def test_alipay_the_resident_scans_the_kiosks_code(real):
    db = Db(real.data_dir)
    unit = _units(db)[2]
    bill = _start(real, db, unit, "支付宝", "扫描终端上的二维码")
    state = real.wait_until(lambda: (s := real.state()).get("qr") and s, 20, "the kiosk's code")
    assert state["qr"][0].startswith("https://qr.alipay.com/")
    real.click("扫描二维码")
    _paid(real, db, unit, bill, "alipay", "native")
    (trade,) = [t for t in _sim_state(real, "alipay")["trades"] if t["kind"] == "precreate"]
    assert trade["status"] == "TRADE_SUCCESS"


def test_alipay_payment_code_waits_for_the_pin_with_a_countdown_then_is_paid(real):
    db = Db(real.data_dir)
    unit = _units(db)[3]
    bill = _start(real, db, unit, "支付宝", "出示付款码")
    real.wait_for_text("请在支付应用中打开付款码", 20)
    _more(real, "让手机要求输入密码")
    try:
        _more(real, "出示支付宝付款码")
        state = real.wait_for_text("请在手机上确认付款", 20)  # USERPAYING: the countdown
        seconds = [int(m.group(1)) for t in state["texts"] if (m := re.search(r"(\d+) 秒", t))]
        assert seconds and 0 < seconds[0] <= 60, state["texts"]
        _more(real, "在手机上输入密码")
        _paid(real, db, unit, bill, "alipay", "code")
    finally:
        _more(real, "让手机免密支付")
    (trade,) = [t for t in _sim_state(real, "alipay")["trades"] if t["kind"] == "bar_code"]
    assert trade["status"] == "TRADE_SUCCESS"


def test_cancel_while_waiting_for_the_pin_reverses_the_order_and_charges_nothing(real):
    db = Db(real.data_dir)
    unit = _units(db)[4]
    with unit_of_work(db.factory) as s:
        receipts_before = len(s.scalars(select(Receipt.id)).all())
    bill = _start(real, db, unit, "微信支付", "出示付款码")
    real.wait_for_text("请在支付应用中打开付款码", 20)
    _more(real, "让手机要求输入密码")
    try:
        _more(real, "出示微信付款码")
        real.wait_for_text("请在手机上确认付款", 20)
        real.click("取消")
        state = real.wait_for_text("支付已取消。", 30)
        assert any("E7001" in t for t in state["texts"])
    finally:
        _more(real, "让手机免密支付")
    with unit_of_work(db.factory) as s:
        assert s.get(Bill, int(bill.bill_id)).status == "open"
        assert len(s.scalars(select(Receipt.id)).all()) == receipts_before
        hh = s.scalars(select(Household).where(Household.unit_no == unit)).one()
        payment = s.scalars(select(Payment).where(Payment.household_id == hh.id)).one()
        (order,) = s.scalars(select(GatewayOrderRecord).where(GatewayOrderRecord.payment_id == payment.id))
        assert (order.network, order.kind, order.state) == ("wechatpay", "code", "reversed")
    db.assert_ledger_balanced()
    revoked = [o for o in _sim_state(real, "wechatpay")["orders"] if o["out_trade_no"] == order.order_id]
    assert revoked[0]["trade_state"] == "REVOKED"
    real.click("取走卡片")
    real.click("重新开始")
    real.wait_for_route("attract")


def test_technician_tests_the_scanner_with_a_code_from_the_demo_bar(real):
    _staff_sign_in(real, "135790")
    real.click("设备设置")
    real.click("付款码扫描器")
    real.click("serial")
    state = real.wait_for_text("请选择端口")
    port = next(t for t in state["texts"] if t.startswith("/dev/pts/"))
    real.click(port.split("\n")[0])
    real.click("9600")
    real.wait_for_text("点“立即测试”，再把付款码放在扫描器下")
    real.click("立即测试")
    real.wait_until(lambda: real.state().get("step") == "sending", 10, "the test waiting for a scan")
    _more(real, "出示支付宝付款码")  # within the test's 10 s
    state = real.wait_for_text("工作正常。", 30)
    texts = state["texts"]
    masked = [t for t in texts if re.fullmatch(r"(2[5-9]|30)\*{12,20}\d\d", t)]  # an Alipay code, 16-24 digits
    assert len(masked) == 1 and "付款码" in texts and "支付宝" in texts, texts
    real.click("使用此设置")
    real.wait_for_text("点按设备进行更改或测试")
    assert "没有更改。" in real.state()["texts"]  # the running scanner, tested through its worker


def test_card_top_up_asks_the_same_questions_and_takes_an_alipay_payment_code(real):
    """The shared method page of the other journeys (here a card top-up) asks 扫码支付's network and direction
    too; the payment code held to the scanner pays it and the value reaches the card."""
    db = Db(real.data_dir)
    unit = _units(db)[5]
    card_id, _uid, _ = db.card(unit)
    before = db.balance(card_id)
    _tap_card(real, f"{unit} resident")
    real.wait_for_route("household")
    real.click("充值")
    real.click("¥50.00")
    real.click("扫码支付")
    real.click("支付宝")
    real.click("出示付款码")
    if SHOTS:
        real.wait_layout("出示付款码")
        real.screenshot(Path(SHOTS) / "top-up-method-questions.png")
    real.click("继续办理")
    state = real.wait_for_text("请核对并确认")
    assert any("支付宝 · 出示付款码" in t for t in state["texts"]), state["texts"]
    real.click("确认支付")
    real.wait_for_text("请在支付应用中打开付款码", 20)
    _more(real, "出示支付宝付款码")
    number = _receipt_number(real.wait_for_text("充值成功", 60))
    assert db.balance(card_id) == before + 5_000
    with unit_of_work(db.factory) as s:
        payment = s.get(Payment, s.scalars(select(Receipt).where(Receipt.number == int(number))).one().payment_id)
        assert (payment.purpose, payment.method, payment.amount_fen) == ("top_up", "qr", 5_000)
        (order,) = s.scalars(select(GatewayOrderRecord).where(GatewayOrderRecord.payment_id == payment.id))
        assert (order.network, order.kind, order.state) == ("alipay", "code", "paid")
    db.assert_ledger_balanced()
    real.click("取走卡片")
    real.click("重新开始")
    real.wait_for_route("attract")
