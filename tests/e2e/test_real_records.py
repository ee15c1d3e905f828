"""My records on the REAL kiosk (real runtime, wire-level simulators, X11 clicks): pay a bill from the card, open
My records, open the row, see what was paid and the card's balance, reprint after the confirm, and the simulated
printer prints a copy marked as a reprint."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from kiosk.app_runtime import mapping
from kiosk.flows.records import BILL_KIND_LABELS
from kiosk.i18n import format_money, translate
from kiosk.persistence.db import unit_of_work
from kiosk.services import households
from tests.e2e.test_real_journeys import Db, _receipt_number, _tap_card, real  # noqa: F401 (the fixture)

pytestmark = pytest.mark.xvfb
SHOTS = os.environ.get("KIOSK_RECORDS_SHOTS")  # a folder: keep screenshots of the pages for a person to look at


def _shot(app, name: str) -> None:
    if SHOTS:
        app.screenshot(Path(SHOTS) / f"{name}.png")


def test_a_paid_bill_opens_in_my_records_and_reprints_after_the_confirm(real):  # noqa: F811
    db = Db(real.data_dir)
    hh = db.household("1-0101")
    card_id, _uid, _ = db.card("1-0101")
    before = db.balance(card_id)
    with unit_of_work(db.factory) as s:
        bills = [mapping.bill(b) for b in households.household_summary(s, hh.id).bills]
    bill = min(bills, key=lambda b: b.amount_fen)
    assert bill.amount_fen <= before, "the demo card cannot pay the smallest bill"
    item = f"{translate(BILL_KIND_LABELS[bill.kind], 'zh_Hans')} {bill.period}"
    _tap_card(real, "1-0101 resident")
    real.wait_for_route("household")
    real.click("缴费")
    real.wait_for_text("请选择要缴的账单和支付方式")
    for b in bills:  # rows below the fold are tapped through the hook (a person would scroll first)
        if b != bill:
            real.cmd(cmd="tap", text=f"{translate(BILL_KIND_LABELS[b.kind], 'zh_Hans')} {b.period}")
    amount = format_money(bill.amount_fen, "zh_Hans")
    real.wait_until(lambda: amount in real.state()["texts"], 10, f"the total {amount}")
    real.click("卡内余额")
    real.click("下一步")
    real.wait_for_text("确认支付")
    real.click("确认支付")
    number = _receipt_number(real.wait_for_text("支付成功，谢谢！", 60))
    real.wait_for_receipt(lambda r: any(number in line for line in r["lines"]))
    after = format_money(before - bill.amount_fen, "zh_Hans")
    real.click("完成")
    real.wait_for_route("household")

    real.click("交易记录")
    real.wait_for_text("点按记录查看详情")
    row = real.wait_until(lambda: next((t for t in real.state().get("texts", ()) if item in t), None), 10,
                          f"the row of {item}")  # the newest row says what was paid
    assert amount in row and f"-{amount}，余额 {after}" in row
    _shot(real, "records-list")
    real.click(item)
    wanted = [number, item, "卡内余额", "变动前余额", format_money(before, "zh_Hans"), "变动后余额", after]
    real.wait_until(lambda: all(w in real.state().get("texts", ()) for w in wanted), 10,
                    f"every line of the receipt: {wanted}")  # items, method, the card's balance before and after
    _shot(real, "records-detail")

    real.click("补打")
    real.wait_for_text(f"要补打收据 {number} 吗？")
    _shot(real, "records-reprint-confirm")
    assert len([r for r in real.receipts() if any(number in line for line in r["lines"])]) == 1  # not yet
    real.click("确认补打")
    real.wait_for_text(f"正在补打收据 {number}。")
    copy = real.wait_for_receipt(lambda r: any(number in line for line in r["lines"])
                                 and any("补打第 1 次" in line for line in r["lines"]))
    assert copy["complete"] and not copy["errors"]
    assert db.receipt(number).reprint_count == 1
    db.assert_ledger_balanced()
