"""The card picker on the REAL kiosk: a household signed in with unit number + PIN that holds a resident card and a
smart card picks the second card on the picker and tops it up with a banknote; the value lands on that card
(database, ledger, the printed receipt), the other card is untouched."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from kiosk.i18n import format_money
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Card, Payment, Receipt
from tests.e2e.test_real_journeys import Db, _receipt_number, _tap_card, real  # noqa: F401 - the fixture

pytestmark = pytest.mark.xvfb


def test_unit_sign_in_picks_the_second_card_and_tops_it_up(real):  # noqa: F811 - the fixture
    db = Db(real.data_dir)
    resident_id, _resident_uid, _ = db.card("1-0101", "resident")
    smart_id, _smart_uid, _ = db.card("1-0101", "smart")
    with unit_of_work(db.factory) as s:  # the last four digits of the printed card numbers
        resident_no, smart_no = (s.get(Card, i).card_no[-4:] for i in (resident_id, smart_id))
    resident_before, smart_before = db.balance(resident_id), db.balance(smart_id)
    real.sign_in_with_unit("1-0101", "123456")
    real.wait_for_text(f"智能卡 尾号{smart_no} · 正常使用")  # the home page lists every card with its balance
    real.click("充值")
    real.wait_for_text("请选择要办理的卡")
    # each card is an option row: the card on its main line, its state and balance on the detail line
    rows = real.wait_until(lambda: {t for t in real.state()["texts"] if "尾号" in t} or None, 10, "cards")
    assert rows == {f"住户卡 尾号{resident_no}", f"智能卡 尾号{smart_no}"}
    texts = real.state()["texts"]
    assert f"正常使用 · 余额 {format_money(resident_before, 'zh_Hans')}" in texts
    assert f"正常使用 · 余额 {format_money(smart_before, 'zh_Hans')}" in texts
    real.click(f"智能卡 尾号{smart_no}")  # the second card
    real.click("¥100.00")
    real.click("现金")
    state = real.wait_for_text("不找零", 10)
    assert f"智能卡 尾号{smart_no}" in state["texts"]  # the confirm page names the card
    _tap_card(real, "1-0101 smart")  # the resident lays the chosen card on the reader, as the page asks
    real.click("确认支付")
    real.wait_for_text("请投入纸币", 20)
    real.click("¥100")
    state = real.wait_for_text("充值成功", 60)
    number = _receipt_number(state)
    assert db.balance(smart_id) == smart_before + 10_000 and db.balance(resident_id) == resident_before
    with unit_of_work(db.factory) as s:
        receipt = s.scalars(select(Receipt).where(Receipt.number == int(number))).one()
        payment = s.get(Payment, receipt.payment_id)
        assert (payment.purpose, payment.card_id, payment.amount_fen) == ("top_up", smart_id, 10_000)
    db.assert_ledger_balanced()
    printed = real.wait_for_receipt(lambda r: any(number in line for line in r["lines"]))
    assert any("100.00" in line for line in printed["lines"])
