"""Whole journeys on the REAL runtime: real drivers on the wire-level simulators, a fresh database, real X11
clicks (cards and banknotes through the demo bar). Each asserts on the database, the ledger and the
simulated printer's receipt records (JSON under <data dir>/printer-sim/)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from kiosk import bootstrap
from kiosk.app_runtime import mapping
from kiosk.domain.terms import AccountKind
from kiosk.flows.records import BILL_KIND_LABELS
from kiosk.i18n import format_money, translate
from kiosk.persistence.db import make_engine, make_session_factory, unit_of_work
from kiosk.persistence.models import AuditEntry, Bill, Card, Household, Payment, Receipt
from kiosk.services import cards as card_service, households, ledger
from kiosk.services.staff_unlock import OPENED
from tests.e2e.harness import RealKioskProcess, demo_card

pytestmark = pytest.mark.xvfb
RECEIPT_NO = re.compile(r"^\d{8}$")


@pytest.fixture
def real(display, tmp_path):
    with RealKioskProcess(display, tmp_path / "data") as app:
        app.wait_for_text("您好，和悦花园", 30)
        yield app


class Db:
    """The kiosk's own database, read from the test process."""

    def __init__(self, data_dir: Path, db_url: str | None = None) -> None:
        settings = bootstrap.load_settings(data_dir, None, db_url, True)
        self.engine = make_engine(bootstrap.database_url(settings))
        self.factory = make_session_factory(self.engine, chain=bootstrap.chain_binding(settings))

    def household(self, unit: str) -> Household:
        with unit_of_work(self.factory) as s:
            hh = s.scalars(select(Household).where(Household.unit_no == unit)).one()
            s.expunge(hh)
            return hh

    def card(self, unit: str, kind: str = "resident") -> tuple[int, str, str]:
        with unit_of_work(self.factory) as s:
            hh = s.scalars(select(Household).where(Household.unit_no == unit)).one()
            c = s.scalars(select(Card).where(Card.household_id == hh.id, Card.kind == kind)).one()
            return c.id, c.uid_hex, c.status

    def balance(self, card_id: int) -> int:
        with unit_of_work(self.factory) as s:
            return card_service.card_balance(s, card_id)

    def assert_ledger_balanced(self) -> None:
        with unit_of_work(self.factory) as s:
            assert ledger.unbalanced_entries(s) == []

    def receipt(self, number: str) -> Receipt:
        with unit_of_work(self.factory) as s:
            row = s.scalars(select(Receipt).where(Receipt.number == int(number))).one()
            s.expunge(row)
            return row


def _tap_card(app: RealKioskProcess, label: str) -> None:
    """Through the demo bar, by touch: Cards -> the card (it lies on the simulated reader until taken off);
    `label` as the database names it ("1-0101 resident"), the list shows it in words ("1-0101 住户卡")."""
    app.click("卡务")
    app.click(demo_card(label))


def _staff_sign_in(app: RealKioskProcess, pin: str = "246810") -> None:
    """The hidden gesture (top-left, top-right, top-left, top-right), then the PIN on the keypad."""
    app.wait_layout("EN")
    for x in (20, 1260, 20, 1260):  # hidden corners
        app.click_at(x, 20)
    app.wait_for_route("staff_unlock")
    for key in pin:
        app.click(key)
    app.click("登录")
    app.wait_for_route("staff_home")


def _receipt_number(state: dict) -> str:
    texts = state["texts"]
    i = texts.index("收据号")
    return next(t for t in texts[i - 1:i + 2] if RECEIPT_NO.match(t))


def test_pay_bills_from_card_balance(real):
    db = Db(real.data_dir)
    hh = db.household("1-0101")
    card_id, uid, _ = db.card("1-0101")
    before = db.balance(card_id)
    with unit_of_work(db.factory) as s:
        bills = [mapping.bill(b) for b in households.household_summary(s, hh.id).bills]
    keep, total = [], 0
    for b in sorted(bills, key=lambda b: b.amount_fen):
        if total + b.amount_fen <= before:
            keep.append(b)
            total += b.amount_fen
    assert keep, "the demo card cannot pay any bill"
    _tap_card(real, "1-0101 resident")
    real.wait_for_route("household")
    real.click("缴费")
    real.wait_for_text("请选择要缴的账单和支付方式")
    for b in bills:  # rows below the fold are tapped through the hook (a person would scroll first)
        if b not in keep:
            real.cmd(cmd="tap", text=f"{translate(BILL_KIND_LABELS[b.kind], 'zh_Hans')} {b.period}")
    shown = format_money(total, "zh_Hans")
    real.wait_until(lambda: shown in real.state()["texts"], 10, f"the total {shown}")
    real.click("卡内余额")
    real.click("下一步")
    state = real.wait_for_text("确认支付")
    assert "请核对并确认" in state["texts"]
    real.click("确认支付")
    state = real.wait_for_text("支付成功，谢谢！", 60)
    number = _receipt_number(state)
    assert db.balance(card_id) == before - total
    with unit_of_work(db.factory) as s:
        for b in keep:
            assert s.get(Bill, int(b.bill_id)).status == "paid"
        receipt = s.scalars(select(Receipt).where(Receipt.number == int(number))).one()
        payment = s.get(Payment, receipt.payment_id)
        assert (payment.method, payment.amount_fen, receipt.household_id) == ("card", total, hh.id)
    db.assert_ledger_balanced()
    printed = real.wait_for_receipt(lambda r: any(number in line for line in r["lines"]))
    assert printed["complete"] and not printed["errors"]
    assert any(f"{total // 100}.{total % 100:02d}" in line for line in printed["lines"])


def test_top_up_with_banknotes(real):
    db = Db(real.data_dir)
    card_id, uid, _ = db.card("2-0102")
    before = db.balance(card_id)
    _tap_card(real, "2-0102 resident")
    real.wait_for_route("household")
    real.click("充值")
    real.click("¥100.00")
    real.click("现金")
    real.wait_for_text("不找零", 10)
    real.click("确认支付")
    real.wait_for_text("请投入纸币", 20)
    real.click("¥100")
    state = real.wait_for_text("充值成功", 60)
    number = _receipt_number(state)
    assert db.balance(card_id) == before + 10_000
    with unit_of_work(db.factory) as s:
        box = ledger.account(s, AccountKind.CASH_BOX, kiosk_id=db.receipt(number).kiosk_id)
        assert ledger.balance(s, box) == 10_000
    db.assert_ledger_balanced()
    printed = real.wait_for_receipt(lambda r: any(number in line for line in r["lines"]))
    assert any("100.00" in line for line in printed["lines"])


def test_report_loss_then_replace_the_card(real):
    db = Db(real.data_dir)
    old_id, old_uid, _ = db.card("3-0103")
    balance = db.balance(old_id)
    _tap_card(real, "3-0103 resident")
    real.wait_for_route("household")
    real.click("挂失")
    real.click("挂失")  # the menu's "Report card lost"
    real.wait_for_text("请核对并确认")
    real.click("确认")
    real.wait_for_text("完成，谢谢！", 30)
    assert db.card("3-0103")[2] == "lost"
    real.click("取走卡片")  # the resident takes the blocked card off before leaving
    real.wait_for_text("卡片已从读卡区取走")  # the demo bar says what happened, in words
    real.click("完成")
    real.wait_for_route("goodbye")  # reporting a loss ends the session
    real.click("返回首页")
    real.sign_in_with_unit("3-0103", "123456")  # the card is blocked: sign in with unit number and PIN
    real.click("挂失")
    real.click("补卡")
    real.wait_for_text("请将新卡放到读卡区")
    real.click("卡务")
    real.click("新空白卡")
    real.click("现金")
    real.wait_for_text("确认")
    real.click("确认")
    real.wait_for_text("请投入纸币", 20)
    real.click("¥20")
    state = real.wait_for_text("完成，谢谢！", 60)
    number = _receipt_number(state)
    with unit_of_work(db.factory) as s:
        hh = s.scalars(select(Household).where(Household.unit_no == "3-0103")).one()
        cards = {c.uid_hex: c for c in s.scalars(select(Card).where(Card.household_id == hh.id,
                                                                     Card.kind == "resident"))}
        assert cards[old_uid].status in ("lost", "replaced")
        (new,) = [c for u, c in cards.items() if u != old_uid]
        assert new.status == "active" and card_service.card_balance(s, new.id) == balance
        assert card_service.card_balance(s, old_id) == 0
    db.assert_ledger_balanced()
    real.wait_for_receipt(lambda r: any(number in line for line in r["lines"]))


def test_staff_sign_in_settlement_and_exit(real):
    db = Db(real.data_dir)
    _staff_sign_in(real)
    real.click("查看日结")
    real.wait_for_text("合计")
    real.click("打印日结")
    slip = real.wait_for_receipt(lambda r: any("日结" in line for line in r["lines"]), 30)
    assert slip["complete"]
    with unit_of_work(db.factory) as s:
        actions = set(s.scalars(select(AuditEntry.action)))
    assert {OPENED, "settlement.viewed", "settlement.printed"} <= actions
    real.click("退出到桌面")
    assert real.proc.wait(30) == 0


def test_idle_timeout_wipes_the_session(real):
    db = Db(real.data_dir)
    with unit_of_work(db.factory) as s:
        receipts_before = len(s.scalars(select(Receipt.id)).all())
    _tap_card(real, "1-0101 resident")
    real.wait_for_route("household")
    real.cmd(cmd="age", seconds=61)
    state = real.wait_for_text("您还在吗？")
    assert state["idle_warning"] and any("秒后结束" in t for t in state["texts"])
    real.cmd(cmd="age", seconds=21)
    state = real.wait_for_route("attract")
    assert not state["identified"] and not any("1-01" in t for t in state["texts"])
    with unit_of_work(db.factory) as s:
        assert len(s.scalars(select(Receipt.id)).all()) == receipts_before  # nothing happened on the account
    assert not any("欢迎回家" in t or "¥" in t and "." in t for t in state["texts"])  # no balance, no bills


def _affordable_bill(db: Db, unit: str):
    hh = db.household(unit)
    card_id, _uid, _ = db.card(unit)
    with unit_of_work(db.factory) as s:
        bills = [mapping.bill(b) for b in households.household_summary(s, hh.id).bills]
    return bills, min(bills, key=lambda b: b.amount_fen), card_id


def _pay_one_bill_by_card(real: RealKioskProcess, bills, keep) -> None:
    real.click("缴费")
    real.wait_for_text("请选择要缴的账单和支付方式")
    for b in bills:  # rows below the fold are tapped through the hook (a person would scroll first)
        if b != keep:
            real.cmd(cmd="tap", text=f"{translate(BILL_KIND_LABELS[b.kind], 'zh_Hans')} {b.period}")
    total = format_money(keep.amount_fen, "zh_Hans")
    real.wait_until(lambda: total in real.state()["texts"], 10, f"the total {total}")  # every untick landed
    real.click("卡内余额")
    real.click("下一步")


def test_printer_out_of_paper_is_said_before_paying_and_the_receipt_prints_when_paper_is_back(real):
    db = Db(real.data_dir)
    bills, bill, card_id = _affordable_bill(db, "2-0102")
    real.click("纸张用完")  # demo bar: the simulated printer runs out of paper
    real.wait_for_text("装入纸张")
    _tap_card(real, "2-0102 resident")
    real.wait_for_route("household")
    _pay_one_bill_by_card(real, bills, bill)
    state = real.wait_for_text("无纸质收据，继续支付", 20)  # said BEFORE paying
    assert any(t.startswith("[ ! ] 小票打印机缺纸。") for t in state["texts"])  # said in words, not colour
    with unit_of_work(db.factory) as s:
        assert s.get(Bill, int(bill.bill_id)).status == "open"
    real.click("无纸质收据，继续支付")
    state = real.wait_for_text("支付成功，谢谢！", 60)
    number = _receipt_number(state)
    assert any("打印机恢复后会补打收据" in t for t in state["texts"])
    with unit_of_work(db.factory) as s:
        assert s.get(Bill, int(bill.bill_id)).status == "paid"
    db.assert_ledger_balanced()
    assert not any(number in line for r in real.receipts() for line in r["lines"])
    real.click("装入纸张")
    printed = real.wait_for_receipt(lambda r: any(number in line for line in r["lines"]), 40)
    assert printed["complete"]


def test_staff_view_and_void_a_receipt_of_today(real):
    db = Db(real.data_dir)
    bills, bill, card_id = _affordable_bill(db, "1-0101")
    before = db.balance(card_id)
    _tap_card(real, "1-0101 resident")
    real.wait_for_route("household")
    _pay_one_bill_by_card(real, bills, bill)
    real.click("确认支付")
    number = _receipt_number(real.wait_for_text("支付成功，谢谢！", 60))
    real.click("取走卡片")
    real.click("重新开始")
    real.wait_for_route("attract")
    _staff_sign_in(real)
    real.click("收据")
    real.click(number)
    real.wait_for_text("作废")
    previews = real.wait_until(lambda: list((real.data_dir / "receipt-previews").glob(f"*{number}.png")), 20,
                               "the receipt PNG")
    assert previews[0].read_bytes()[:4] == b"\x89PNG"
    real.click("作废")
    real.click("缴错账单")
    real.click("作废收据")
    state = real.wait_for_text("收据已作废，正在打印作废单。", 30)
    void_no = state["texts"][state["texts"].index("作废单号") - 1]
    assert RECEIPT_NO.match(void_no) and int(void_no) > int(number)
    assert db.receipt(number).voided
    with unit_of_work(db.factory) as s:
        assert s.get(Bill, int(bill.bill_id)).status == "open"  # the void gives the bill back
    assert db.balance(card_id) == before  # and the money back to the card's account
    db.assert_ledger_balanced()
    real.wait_for_receipt(lambda r: any(void_no in line for line in r["lines"]), 30)


def test_technician_tests_the_printer_for_real_and_saves_the_file(real):
    _staff_sign_in(real, "135790")
    real.click("设备设置")
    real.click("小票打印机")
    real.click("escpos")
    state = real.wait_for_text("请选择端口")
    url = next((t for t in state["texts"] if t.startswith("tcp://") or t.startswith("socket://")), str(state))
    real.click(url.split("\n")[0])
    real.click("立即测试")
    real.wait_for_text("工作正常。", 30)
    real.wait_for_receipt(lambda r: any("Test print" in line for line in r["lines"]), 20)
    real.click("使用此设置")
    real.wait_for_text("点按设备进行更改或测试")
    assert "没有更改。" in real.state()["texts"]  # the same setting as running: nothing to save


@pytest.mark.parametrize("backend", ["postgres"])
def test_pay_bills_from_card_balance_on_postgresql(display, tmp_path, db_url):
    """The same kiosk with its database on a PostgreSQL server (many kiosks sharing one estate)."""
    with RealKioskProcess(display, tmp_path / "data", db_url=db_url) as real:
        real.wait_for_text("您好，和悦花园", 30)
        db = Db(real.data_dir, db_url)
        bills, bill, card_id = _affordable_bill(db, "1-0101")
        before = db.balance(card_id)
        _tap_card(real, "1-0101 resident")
        real.wait_for_route("household")
        _pay_one_bill_by_card(real, bills, bill)
        real.click("确认支付")
        number = _receipt_number(real.wait_for_text("支付成功，谢谢！", 60))
        assert db.balance(card_id) == before - bill.amount_fen
        with unit_of_work(db.factory) as s:
            assert s.get(Bill, int(bill.bill_id)).status == "paid"
        db.assert_ledger_balanced()
        real.wait_for_receipt(lambda r: any(number in line for line in r["lines"]))
        db.engine.dispose()
