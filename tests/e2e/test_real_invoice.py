"""开发票 on the REAL kiosk (the demo runtime, the tax provider simulator process, X11 clicks): pay a fee with
banknotes, ask for a company invoice on the done page, fill the title form the QR code opens over plain HTTP (as a
phone would), see "发票开具中", then the issued invoice under My records with its number and the QR of its PDF, and
re-send it by SMS to a number typed on the keypad (masked once sent; the simulator records the delivery); then
staff void the receipt, choose the red-letter reason, and the red letter appears on the staff invoice page."""
from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit
from urllib.parse import urlencode

import pytest

from kiosk.i18n import format_money
from tests.e2e.test_real_journeys import Db, _affordable_bill, _receipt_number, _staff_sign_in, _tap_card, real  # noqa: F401,E501
from kiosk.flows.records import BILL_KIND_LABELS
from kiosk.i18n import translate

pytestmark = pytest.mark.xvfb
COMPANY = ("上海阳光物业管理有限公司", "91350100M000100Y43")


def _fill_on_the_phone(url: str, **fields: str) -> int:
    request = urllib.request.Request(url, data=urlencode(fields).encode(), method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status


def test_a_cash_payment_gets_a_company_invoice_my_records_shows_it_and_a_staff_void_red_letters_it(real):  # noqa: F811
    db = Db(real.data_dir)
    bills, bill, _card_id = _affordable_bill(db, "1-0101")
    _tap_card(real, "1-0101 resident")
    real.wait_for_route("household")
    real.click("缴费")
    real.wait_for_text("请选择要缴的账单和支付方式")
    for b in bills:
        if b != bill:
            real.cmd(cmd="tap", text=f"{translate(BILL_KIND_LABELS[b.kind], 'zh_Hans')} {b.period}")
    amount = format_money(bill.amount_fen, "zh_Hans")
    real.wait_until(lambda: amount in real.state()["texts"], 10, f"the total {amount}")
    real.click("现金")
    real.click("下一步")
    real.click("确认支付")
    real.wait_for_text("请投入纸币", 20)
    left = bill.amount_fen  # banknotes: the smallest that covers what is still due (a bill takes the excess as credit)
    while left > 0:
        note = next((n for n in (10, 20, 50, 100) if n * 100 >= left), 100)
        real.click(f"¥{note}")
        left -= note * 100
    real.wait_for_text("支付成功，谢谢！", 60)
    number = _receipt_number(real.state())

    real.click("开发票")
    real.wait_for_text("发票开给谁？", 10)
    real.click("单位")
    state = real.wait_until(lambda: (s := real.state()).get("qr") and s, 15, "the title form's QR code")
    assert "请用手机扫码填写发票抬头" in state["texts"] and any("后失效" in t for t in state["texts"])
    (url,) = state["qr"]
    assert _fill_on_the_phone(url, kind="company", name=COMPANY[0], tax_id=COMPANY[1]) == 200
    state = real.wait_for_text("请核对发票抬头", 15)  # the kiosk read the title back
    assert f"{COMPANY[0]}\n{COMPANY[1]}" in state["texts"]
    real.click("确认")
    state = real.wait_for_text("发票开具中", 15)
    assert any("二维码" in t for t in state["texts"]) and number in state["texts"]

    real.click("完成")
    real.wait_for_route("household")
    real.click("交易记录")
    real.click("我的发票")
    real.wait_for_route("my_invoices")
    # the simulator issues within about 2 s; the list is read again when reopened
    def issued() -> bool:
        real.cmd(cmd="go", route="my_invoices")
        return "已开具" in real.wait_for_text("点按发票查看详情", 10)["texts"]

    real.wait_until(issued, 30, "the invoice issued")
    real.click("已开具")
    state = real.wait_for_text("扫码获取发票 PDF", 10)
    texts = state["texts"]
    (said,) = [t for t in texts if "发票号码" in t]  # the QR takes the page; the invoice is said beside it
    assert f"发票金额 {amount}" in said, said
    assert re.search(r"发票号码 \d{20}", said), said
    assert state["qr"] and state["qr"][0].startswith("http"), state["qr"]

    real.screenshot(Path(real.data_dir) / "invoice-detail.png")

    # re-send by SMS: the kiosk's digit keypad, the number masked once sent, the provider's record read over HTTP
    real.click("短信发送")
    real.wait_for_text("请输入接收发票的手机号码", 10)
    for key in "13800138000":
        real.click(key)
    real.wait_for_text("138 0013 8000", 10)
    real.click("发送发票")
    state = real.wait_for_text("发票已发送至 138****8000", 20)
    assert "今天还可再发送 2 次。" in state["texts"] and not any("13800138000" in t for t in state["texts"])
    real.screenshot(Path(real.data_dir) / "invoice-resent.png")
    invoice_no = re.search(r"\d{20}", said).group(0)
    base = "{0.scheme}://{0.netloc}".format(urlsplit(url))  # the simulator that served the title form
    with urllib.request.urlopen(f"{base}/sim/deliveries", timeout=5) as response:
        sent = [d for d in json.loads(response.read()) if d["invoice_no"] == invoice_no]
    assert [(d["phone"], d["mail"]) for d in sent] == [("13800138000", "")]
    real.click("完成")
    real.wait_for_text("扫码获取发票 PDF", 10)

    # staff void the receipt: the void asks why the invoice is reversed, files that reason, and the red letter
    # the simulator issues shows on the staff invoice page
    real.click("取走卡片")
    real.cmd(cmd="go", route="attract")
    real.wait_for_route("attract")
    _staff_sign_in(real)
    real.click("收据")
    real.click(number)
    real.click("作废")
    real.click("缴错账单")
    real.wait_for_text("此收据已开发票。发票红冲的原因是？", 10)
    real.click("服务中止")
    state = real.wait_for_text("请核对并确认", 10)
    assert "服务中止" in " ".join(state["texts"])
    real.click("作废收据")
    real.wait_for_text("收据已作废，正在打印作废单。", 30)
    real.click("完成")

    def reversed_on_screen() -> bool:
        real.cmd(cmd="go", route="staff_invoices")
        state = real.wait_for_text("按状态查看开票申请", 10)
        i = state["texts"].index("已红冲")
        return "1" in state["texts"][i - 1:i + 2]

    real.wait_until(reversed_on_screen, 30, "the red letter on the staff invoice page")
    real.click("已红冲")
    real.click(f"收据 {number}")
    state = real.wait_for_text(invoice_no, 10)  # the blue invoice, with what its red letter reversed
    texts = state["texts"]
    assert amount in texts and "已红冲" in " ".join(texts), texts
    real.screenshot(Path(real.data_dir) / "invoice-red-lettered.png")
    with urllib.request.urlopen(f"{base}/sim/state", timeout=5) as response:
        sim_state = json.loads(response.read())
    assert list(sim_state["red_reasons"].values()) == ["3"]  # 服务中止, as staff picked it
