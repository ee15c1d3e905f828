"""Whole journeys in the real window: synthetic X11 clicks, assertions on visible state and service state."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.xvfb


def test_pay_bills_from_card_balance(kiosk):
    assert kiosk.wait_for_text("您好，翠湖花园")
    kiosk.cmd(cmd="card", uid="A1B2C3D4")
    kiosk.wait_for_route("household")
    kiosk.wait_for_text("¥819.30")
    kiosk.click("缴费")
    kiosk.wait_for_text("请选择要缴的账单和支付方式")
    kiosk.click("物业管理费 2026-10")  # untick the two big bills so the card balance is enough
    kiosk.click("车位费 2026-10")
    kiosk.wait_for_text("¥169.30")
    kiosk.click("卡内余额")
    kiosk.click("下一步")
    state = kiosk.wait_for_text("请核对并确认")
    assert "水费 2026-10" in state["texts"] and "¥169.30" in state["texts"]
    kiosk.click("确认支付")
    state = kiosk.wait_for_text("支付成功，谢谢！")
    assert "00000001" in state["texts"] and "¥30.70" in state["texts"]
    assert kiosk.cmd(cmd="inspect", attr="printed")["value"] == ["00000001"]


def test_lost_card_is_refused_on_screen_with_code_and_hint(kiosk):
    kiosk.cmd(cmd="card", uid="DEADBEEF")
    state = kiosk.wait_for_text("此卡已挂失停用")
    assert any("E4001" in t for t in state["texts"])  # the code is shown, not only a colour
    assert any("补卡" in t for t in state["texts"])


def test_unit_and_pin_sign_in_with_the_on_screen_keypad(kiosk):
    kiosk.click("用房号和密码登录")
    kiosk.wait_for_route("identify")
    kiosk.click("使用数字键盘")
    for key in "1-0302":
        kiosk.click(key)
    kiosk.wait_for_text("1-0302")
    kiosk.click("下一步")
    kiosk.wait_for_text("请输入密码")
    for key in "1234":
        kiosk.click(key)
    kiosk.click("下一步")
    kiosk.wait_for_route("household")


def test_staff_gesture_pin_settlement_and_exit(kiosk):
    kiosk.wait_for_text("您好，翠湖花园")
    kiosk.wait_layout("EN")
    for x in (20, 1260, 20, 1260):  # hidden corners: top-left, top-right, top-left, top-right
        kiosk.click_at(x, 20)
    kiosk.wait_for_route("staff_unlock")
    for key in "2468":
        kiosk.click(key)
    kiosk.click("登录")
    kiosk.wait_for_route("staff_home")
    kiosk.click("查看日结")
    kiosk.wait_for_text("合计")
    kiosk.click("退出到桌面")
    assert kiosk.proc.wait(15) == 0


def test_escape_and_close_are_ignored_outside_staff_mode(kiosk):
    kiosk.key("Escape")
    kiosk.key("alt+F4")
    kiosk.wait_for_text("您好，翠湖花园")
    assert kiosk.proc.poll() is None


def test_idle_timeout_warns_then_wipes_the_session(kiosk):
    kiosk.cmd(cmd="card", uid="A1B2C3D4")
    kiosk.wait_for_route("household")
    kiosk.cmd(cmd="age", seconds=61)
    state = kiosk.wait_for_text("您还在吗？")
    assert state["idle_warning"] and any("秒后结束" in t for t in state["texts"])
    kiosk.cmd(cmd="age", seconds=20)
    state = kiosk.wait_for_route("attract")
    assert not state["identified"] and "¥819.30" not in state["texts"]


def test_idle_warning_continue_keeps_the_journey(kiosk):
    kiosk.cmd(cmd="card", uid="A1B2C3D4")
    kiosk.wait_for_route("household")
    kiosk.cmd(cmd="age", seconds=61)
    kiosk.wait_for_text("您还在吗？")
    kiosk.click("继续办理")
    state = kiosk.wait_until(lambda: (s := kiosk.state()) and not s["idle_warning"] and s, 10, "warning closed")
    assert state["route"] == "household" and state["identified"]


def test_unexpected_error_shows_out_of_service_with_reference_and_keeps_running(kiosk):
    kiosk.cmd(cmd="card", uid="A1B2C3D4")
    kiosk.wait_for_route("household")
    kiosk.cmd(cmd="raise")
    state = kiosk.wait_for_route("out_of_service")
    assert any("参考号" in t for t in state["texts"]) and not state["identified"]
    assert "Traceback" in kiosk.log_text and kiosk.proc.poll() is None
    kiosk.click("返回首页")
    kiosk.wait_for_route("attract")


def test_language_switch_mid_journey_keeps_the_step(kiosk):
    kiosk.cmd(cmd="card", uid="A1B2C3D4")
    kiosk.wait_for_route("household")
    kiosk.click("EN")
    state = kiosk.wait_for_text("Welcome home")
    assert state["route"] == "household" and "Pay fees" in state["texts"]
    kiosk.click("繁")
    kiosk.wait_for_text("歡迎回家")


def test_idle_frame_rate_drops_after_input_stops(kiosk):
    kiosk.click("公告通知")
    kiosk.wait_for_route("notices")
    assert kiosk.wait_until(lambda: kiosk.state()["fps"] <= 12, 10, "idle frame rate")


def test_top_up_by_cash(kiosk):
    kiosk.cmd(cmd="card", uid="A1B2C3D4")
    kiosk.wait_for_route("household")
    kiosk.click("卡充值")
    kiosk.wait_for_text("请选择充值金额")
    kiosk.click("¥100.00")
    kiosk.click("现金")
    kiosk.wait_for_text("本机不找零")
    kiosk.click("确认支付")
    state = kiosk.wait_for_text("充值成功")
    assert "¥300.00" in state["texts"]
    assert kiosk.cmd(cmd="inspect", attr="cash_box_fen")["value"] == 10000


def test_report_loss_then_replace_the_card(kiosk):
    kiosk.cmd(cmd="card", uid="A1B2C3D4")
    kiosk.wait_for_route("household")
    kiosk.click("挂失与补卡")
    kiosk.wait_for_text("请选择办理事项")
    kiosk.click("挂失")
    kiosk.wait_for_text("卡片将立即在所有地方停用")
    kiosk.click("确认")
    kiosk.wait_for_text("办理完成")
    kiosk.click("完成")
    kiosk.wait_for_route("goodbye")
    kiosk.click("返回首页")
    kiosk.cmd(cmd="card", uid="A1B2C3D4")
    kiosk.wait_for_text("此卡已挂失停用")
    kiosk.click("使用数字键盘")
    for key in "1-0302":
        kiosk.click(key)
    kiosk.click("下一步")
    for key in "1234":
        kiosk.click(key)
    kiosk.click("下一步")
    kiosk.wait_for_route("household")
    kiosk.click("挂失与补卡")
    kiosk.click("补卡")
    kiosk.wait_for_text("请将新卡放到读卡区")
    kiosk.cmd(cmd="card", uid="55667788")
    kiosk.click("扫码支付")
    kiosk.wait_for_text("¥20.00")
    kiosk.click("确认")
    state = kiosk.wait_for_text("办理完成")
    assert "¥200.00" in state["texts"]  # the balance moved to the new card
    kiosk.click("完成")
    kiosk.wait_for_route("household")


def test_idle_on_the_attract_screen_resets_language_and_large_text(kiosk):
    kiosk.click("EN")
    kiosk.click("Large text")
    assert kiosk.wait_for_text("Hello, Green Lake Garden")["large_text"]
    kiosk.cmd(cmd="age", seconds=61)
    kiosk.wait_for_text("Are you still there?")
    kiosk.cmd(cmd="age", seconds=20)
    state = kiosk.wait_for_text("您好，翠湖花园")
    assert state["language"] == "zh_Hans" and not state["idle_warning"] and not state["large_text"]


def test_qr_payment_shows_a_scannable_code_until_the_gateway_answers(kiosk):
    kiosk.cmd(cmd="card", uid="A1B2C3D4")
    kiosk.wait_for_route("household")
    kiosk.click("缴费")
    kiosk.click("扫码支付")
    kiosk.click("下一步")
    kiosk.cmd(cmd="hold", method="money")
    kiosk.click("确认支付")
    state = kiosk.wait_for_text("请用手机扫描二维码支付。")
    assert "应付金额: ¥819.30" in state["texts"]
    kiosk.cmd(cmd="release", method="money")
    state = kiosk.wait_for_text("支付成功，谢谢！")
    assert "请用手机扫描二维码支付。" not in state["texts"]


def test_cancel_while_waiting_for_banknotes(kiosk):
    kiosk.cmd(cmd="card", uid="A1B2C3D4")
    kiosk.wait_for_route("household")
    kiosk.click("缴费")
    kiosk.click("现金")
    kiosk.click("下一步")
    kiosk.cmd(cmd="hold", method="money")
    kiosk.click("确认支付")
    kiosk.wait_for_text("请投入纸币。")
    kiosk.click("取消")
    state = kiosk.wait_for_text("支付已取消。")
    assert any("E7001" in t for t in state["texts"])
    assert kiosk.cmd(cmd="inspect", attr="cash_box_fen")["value"] == 0
