"""Device steps on the REAL kiosk in portrait 1080x1920, the usual shape of a lobby kiosk (its own Xvfb of that
size): a cash top-up through the demo bar shows the step's heading, the no-change rule once and before the first
note, due and received, the notes the acceptor takes at the note slot, the overpay question, then the receipt
slot; the demo bar is one row in the kiosk's language, in words, with the rest under "More"."""
from __future__ import annotations

import shutil

import pytest

from tests.e2e.harness import RealKioskProcess, Xvfb
from tests.e2e.test_real_journeys import Db, _receipt_number, _tap_card

pytestmark = pytest.mark.xvfb
PORTRAIT = (1080, 1920)
RULE = "本机不找零，超出应付金额的部分将存入您的住户账户。"
INTERNAL = ("escrow", "stacked", "inhibited", "qr", "off", "paper")  # what the demo bar said before, in code words


@pytest.fixture(scope="module")
def portrait_display():
    if shutil.which("xdotool") is None or shutil.which("Xvfb") is None:
        pytest.skip("needs Xvfb and xdotool (scripts/setup --test)")
    with Xvfb(PORTRAIT, own=True) as x:
        yield x.display


@pytest.fixture
def kiosk(portrait_display, tmp_path):
    with RealKioskProcess(portrait_display, tmp_path / "data", size=PORTRAIT) as app:
        app.wait_for_text("您好，和悦花园", 30)
        yield app


def _texts(app: RealKioskProcess) -> list[str]:
    return list(app.state()["texts"])


def _no_code_words(texts: list[str]) -> None:
    for text in texts:
        assert text.strip().lower() not in INTERNAL and not any(f"{w}" in text for w in ("escrow", ": qr", ": off"))


def test_cash_top_up_in_portrait_shows_the_note_slot_the_rule_once_and_then_the_receipt_slot(kiosk):
    db = Db(kiosk.data_dir)
    card_id, _uid, _ = db.card("2-0102")
    before = db.balance(card_id)
    texts = _texts(kiosk)
    assert "更多" in texts and "扫描二维码" not in texts and "纸张用完" not in texts  # portrait: one slim row
    bar = kiosk.cmd(cmd="find", text="卡务")
    assert bar["y"] > PORTRAIT[1] - 200  # at the foot of the window
    _tap_card(kiosk, "2-0102 resident")
    kiosk.wait_for_route("household")
    kiosk.wait_for_text("演示：卡片已放到读卡区")  # what happened, in words, never which unit
    kiosk.click("充值")
    kiosk.click("¥100.00")
    kiosk.click("现金")
    kiosk.click("确认支付")
    page = {"请投入纸币", RULE, "应付金额", "¥100.00", "已收金额", "¥0.00", "可收纸币", "¥10", "¥20", "¥50", "¥100",
            "请在此逐张投入纸币"}
    kiosk.wait_until(lambda: page <= set(_texts(kiosk)), 20, "the banknote page")
    texts = _texts(kiosk)
    assert texts.count(RULE) == 1 and "正在支付，请稍候" not in texts and "请稍候" not in texts
    kiosk.click("¥50")
    kiosk.wait_until(lambda: "¥50.00" in _texts(kiosk), 20, "¥50.00 received")
    assert any(t.startswith("演示：¥50 纸币") for t in _texts(kiosk))
    kiosk.click("¥100")  # more than the ¥50.00 still due: the kiosk asks before it keeps the note
    kiosk.wait_for_text("是否收下这张纸币？", 20)
    kiosk.click("接受")
    state = kiosk.wait_for_text("充值成功，谢谢！", 60)
    number = _receipt_number(state)
    kiosk.wait_for_text("请从出纸口取走收据")  # the receipt slot while the receipt prints
    assert db.balance(card_id) == before + 10_000
    kiosk.wait_for_receipt(lambda r: any(number in line for line in r["lines"]))
    kiosk.click("更多")
    state = kiosk.wait_for_text("操作记录")
    assert {"扫描二维码", "纸张用完"} <= set(state["texts"])
    assert any("¥100 纸币正在验钞" in t for t in state["texts"])  # what happened, newest first
    _no_code_words(state["texts"])
    kiosk.click("返回")
