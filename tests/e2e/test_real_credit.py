"""Account credit on the REAL runtime (simulators, fresh database, X11 clicks): a banknote overpayment
becomes credit, the household page shows it, and it pays a bill first with banknotes for the rest (one
receipt shows both parts); what is left moves onto the card (written and read back)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from kiosk.app_runtime import mapping
from kiosk.domain.terms import AccountKind
from kiosk.flows.records import BILL_KIND_LABELS
from kiosk.i18n import format_money, translate
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Bill, Payment, Receipt
from kiosk.services import households, ledger
from tests.e2e.harness import RealKioskProcess
from tests.e2e.test_real_journeys import Db, _receipt_number, _tap_card

pytestmark = pytest.mark.xvfb
NOTES = (10, 20, 50, 100)  # the demo bar's banknotes, yuan
SHOTS = os.environ.get("KIOSK_CREDIT_SHOTS")  # a folder: keep screenshots of the pages for a person to look at


def _shot(app: RealKioskProcess, name: str) -> None:
    if SHOTS:
        app.screenshot(Path(SHOTS) / f"{name}.png")


@pytest.fixture
def real(display, tmp_path):
    with RealKioskProcess(display, tmp_path / "data") as app:
        app.wait_for_text("您好，和悦花园", 30)
        yield app


def _credit(db: Db, household_id: int) -> int:
    with unit_of_work(db.factory) as s:
        return ledger.liability_balance(s, ledger.account(s, AccountKind.CREDIT, household_id=household_id))


def _insert_until(real: RealKioskProcess, done_text: str, due_fen: int) -> None:
    """Banknotes as a resident would: the smallest note that covers what is still due (¥100 while more); a
    last note above what is due waits in escrow until the resident accepts that the excess becomes credit."""
    left = due_fen
    while left > 0:
        note = next((n for n in NOTES if n * 100 >= left), NOTES[-1])
        real.click(f"¥{note}")
        if note * 100 > left:
            real.click("接受")
        left -= note * 100
    real.wait_for_text(done_text, 60)


def test_overpaid_note_becomes_credit_shown_at_home_pays_a_bill_with_cash_and_the_rest_moves_onto_the_card(real):
    db = Db(real.data_dir)
    hh = db.household("1-0101")
    _tap_card(real, "1-0101 resident")
    real.wait_for_route("household")
    assert "账户余额（预存）" not in real.state()["texts"]
    # a ¥50.00 top-up paid with a ¥100 note: the resident accepts that ¥50.00 above it becomes credit
    real.click("充值")
    real.click("¥50.00")
    real.click("现金")
    real.click("确认支付")
    real.wait_for_text("请投入纸币", 20)
    real.click("¥100")
    real.click("接受")
    real.wait_for_text("充值成功", 60)
    assert _credit(db, hh.id) == 5_000
    real.click("完成")
    real.wait_for_route("household")
    state = real.wait_for_text("账户余额（预存）", 10)
    assert "¥50.00" in state["texts"]
    real.wait_layout("账户余额（预存）")
    _shot(real, "70-credit-household")
    # a bill above the credit: ¥50.00 of credit first, banknotes for the rest
    with unit_of_work(db.factory) as s:
        bills = [mapping.bill(b) for b in households.household_summary(s, hh.id).bills]
    bill = min((b for b in bills if b.amount_fen > 5_000), key=lambda b: b.amount_fen)
    rest = bill.amount_fen - 5_000
    real.click("缴费")
    real.wait_for_text("请选择要缴的账单和支付方式")
    for b in bills:  # rows below the fold are tapped through the hook (a person would scroll first)
        if b is not bill:
            real.cmd(cmd="tap", text=f"{translate(BILL_KIND_LABELS[b.kind], 'zh_Hans')} {b.period}")
    real.wait_until(lambda: format_money(bill.amount_fen, "zh_Hans") in real.state()["texts"], 10, "the bill's total")
    real.click("¥50.00 + 现金")
    real.wait_until(lambda: not real.cmd(cmd="find", text="下一步")["disabled"], 10, "the split chosen")
    _shot(real, "71-credit-pay-choose")
    real.click("下一步")
    said = f"账户余额抵扣 ¥50.00，余款 {format_money(rest, 'zh_Hans')}（现金）"
    real.wait_for_text(said, 10)
    _shot(real, "72-credit-pay-confirm")
    real.click("确认支付")
    real.wait_for_text("请投入纸币", 20)
    _insert_until(real, "支付成功，谢谢！", rest)
    state = real.state()
    texts = state["texts"]
    _shot(real, "73-credit-paid")
    assert "账户余额抵扣" in texts and "现金部分" in texts and format_money(rest, "zh_Hans") in texts
    number = _receipt_number(state)
    with unit_of_work(db.factory) as s:
        receipt = s.scalars(select(Receipt).where(Receipt.number == int(number))).one()
        payment = s.get(Payment, receipt.payment_id)
        assert (payment.method, payment.amount_fen, payment.credit_fen) == ("cash", bill.amount_fen, 5_000)
        assert s.get(Bill, int(bill.bill_id)).status == "paid"
        kept = payment.received_fen - rest
    assert _credit(db, hh.id) == kept  # whatever the last note brought above the rest
    db.assert_ledger_balanced()
    printed = real.wait_for_receipt(lambda r: any(number in line for line in r["lines"]))
    lines = printed["lines"]
    assert any("账户余额抵扣" in line and "50.00" in line for line in lines)
    assert any("现金部分" in line and f"{rest // 100}.{rest % 100:02d}" in line for line in lines)
    # what the last note left as credit goes onto the card: a top-up paid from credit, the card written
    assert kept > 0
    card_id, _uid, _status = db.card("1-0101")
    before = db.balance(card_id)
    real.click("完成")
    real.wait_for_route("household")
    real.click("充值")
    real.click(f"账户余额全部充入 {format_money(kept, 'zh_Hans')}")
    real.click(f"账户余额（预存） {format_money(kept, 'zh_Hans')}")
    real.wait_for_text(f"账户余额抵扣 {format_money(kept, 'zh_Hans')}", 10)
    real.click("确认支付")
    real.wait_for_text("充值成功", 60)
    assert _credit(db, hh.id) == 0 and db.balance(card_id) == before + kept
    with unit_of_work(db.factory) as s:
        from kiosk.persistence.models import CardOperation

        moved = s.scalars(select(Payment).where(Payment.method == "credit")).one()
        op = s.scalars(select(CardOperation).where(CardOperation.payment_id == moved.id)).one()
        assert (op.status, op.new_value_fen - op.old_value_fen) == ("done", kept)  # written and read back
    db.assert_ledger_balanced()
