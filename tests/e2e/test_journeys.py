"""Window behaviour on the fake services (faults, holds and clocks the real runtime cannot stage): synthetic X11
clicks, assertions on visible state. The money journeys run on the real runtime in test_real_journeys.py."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.xvfb


def test_replaced_card_is_refused_on_screen_with_code_and_never_again(kiosk):
    kiosk.cmd(cmd="card", uid="0BADCAFE")
    state = kiosk.wait_for_text("此卡已补办新卡，原卡永远不能解挂。请使用新卡；如未领到新卡，请联系工作人员。")
    assert any("E4003" in t for t in state["texts"])  # the code is shown, not only a colour


def test_found_lost_card_is_unblocked_on_screen_with_the_household_pin(kiosk):
    kiosk.cmd(cmd="card", uid="DEADBEEF")
    kiosk.wait_for_text("此卡已挂失。找到卡了？请输入住户密码解挂")
    for key in "5678":
        kiosk.click(key)
    kiosk.click("下一步")
    kiosk.wait_for_route("household")
    state = kiosk.wait_for_text("您的卡已恢复使用。凭条号 ")
    assert state["identified"]


def test_escape_and_close_are_ignored_outside_staff_mode(kiosk):
    kiosk.key("Escape")
    kiosk.key("alt+F4")
    kiosk.wait_for_text("您好，翠湖花园")
    assert kiosk.proc.poll() is None


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


def test_idle_kiosk_drops_to_two_frames_a_second_and_a_touch_wakes_it(kiosk):
    assert kiosk.wait_until(lambda: kiosk.state()["fps"] == 2, 10, "idle frame rate")
    wakes = kiosk.state()["input_wakes"]  # the X connection is watched (Xvfb is X11)
    kiosk.click("公告通知")
    kiosk.wait_for_route("notices")
    state = kiosk.state()
    assert state["input_wakes"] > wakes and state["fps"] > 2  # back at max_fps while touched


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
    shown = {"请扫码支付", "应付金额", "¥819.30", "请用手机扫描此二维码"}  # the step, the amount, what to do
    kiosk.wait_until(lambda: shown <= set(kiosk.state()["texts"]), 10, "the QR page")
    kiosk.cmd(cmd="release", method="money")
    state = kiosk.wait_for_text("支付成功，谢谢！")
    assert "请扫码支付" not in state["texts"] and "请用手机扫描此二维码" not in state["texts"]


def test_cancel_while_waiting_for_banknotes(kiosk):
    kiosk.cmd(cmd="card", uid="A1B2C3D4")
    kiosk.wait_for_route("household")
    kiosk.click("缴费")
    kiosk.click("现金")
    kiosk.click("下一步")
    kiosk.cmd(cmd="hold", method="money")
    kiosk.click("确认支付")
    shown = {"请投入纸币", "本机不找零，超出应付金额的部分将存入您的住户账户。"}  # the step; the rule before any note
    kiosk.wait_until(lambda: shown <= set(kiosk.state()["texts"]), 10, "the banknote page")
    kiosk.click("取消")
    state = kiosk.wait_for_text("支付已取消。")
    assert any("E7001" in t for t in state["texts"])
    assert kiosk.cmd(cmd="inspect", attr="cash_box_fen")["value"] == 0
