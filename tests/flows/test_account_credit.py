"""Account credit on screen: shown on the household page and every pay page, chosen alone or first with
another method (split tender), the confirm text restating both parts."""
from __future__ import annotations


def test_household_page_shows_credit_only_when_there_is_some(signed_in, fake):
    view = signed_in.flow.view()
    assert view.credit == "" and view.credit_note == ""
    fake.households["H1"].credit_fen = 3550
    signed_in.go("household")
    view = signed_in.flow.view()
    assert view.credit == "¥35.50"
    assert view.credit_note == "账户余额可用于缴费，也可充值到卡上。"


def _pay_fees_with_credit(signed_in, fake, credit_fen: int):
    fake.households["H1"].credit_fen = credit_fen
    signed_in.go("pay_fees")
    return signed_in.flow


def test_pay_page_shows_credit_and_offers_it_first_split_with_each_method(signed_in, fake):
    flow = _pay_fees_with_credit(signed_in, fake, 3000)  # all four bills: ¥819.30
    view = flow.view()
    assert view.credit == "¥30.00"
    assert [(m.method, m.label) for m in view.methods] == [
        ("credit+card", "账户余额（预存） ¥30.00 + 卡内余额"), ("credit+cash", "账户余额（预存） ¥30.00 + 现金"),
        ("credit+qr", "账户余额（预存） ¥30.00 + 扫码支付"), ("card", "卡内余额"), ("cash", "现金"), ("qr", "扫码支付")]
    card_split = view.methods[0]
    assert not card_split.enabled and card_split.reason == "余额不足"  # ¥789.30 left for a ¥200.00 card


def test_confirm_restates_the_split_then_one_payment_takes_both_parts(signed_in, fake):
    flow = _pay_fees_with_credit(signed_in, fake, 3000)
    flow.select_all(False)
    flow.toggle("B102")  # water ¥42.80
    flow.choose_method("credit+cash")
    flow.next()
    view = flow.view()
    assert view.confirm_method == "账户余额抵扣 ¥30.00，余款 ¥12.80（现金）"
    flow.confirm()
    view = flow.view()
    assert view.step.value == "done"
    assert fake.households["H1"].credit_fen == 0 and fake.cash_box_fen == 1280
    assert ("账户余额抵扣", "¥30.00") in view.result_lines and ("现金部分", "¥12.80") in view.result_lines
    assert fake.receipts[view.receipt_number]["amount"] == 4280
    assert view.credit == ""  # the credit before paying is not shown once it has changed


def test_credit_that_covers_the_total_is_offered_alone(signed_in, fake):
    flow = _pay_fees_with_credit(signed_in, fake, 5000)
    flow.select_all(False)
    flow.toggle("B102")  # ¥42.80
    keys = [m.method for m in flow.view().methods]
    assert keys == ["credit", "card", "cash", "qr"]
    flow.choose_method("credit")
    flow.next()
    assert flow.view().confirm_method == "账户余额抵扣 ¥42.80"
    flow.confirm()
    assert fake.households["H1"].credit_fen == 5000 - 4280 and fake.cash_box_fen == 0
    assert fake.cards["A1B2C3D4"].balance_fen == 20000


def test_adding_a_bill_beyond_the_credit_drops_the_credit_alone_choice(signed_in, fake):
    flow = _pay_fees_with_credit(signed_in, fake, 5000)
    flow.select_all(False)
    flow.toggle("B102")
    flow.choose_method("credit")
    flow.toggle("B103")  # now ¥169.30: credit alone no longer covers it
    assert flow.method is None and not flow.view().can_continue
    flow.choose_method("credit+qr")
    flow.next()
    assert flow.view().confirm_method == "账户余额抵扣 ¥50.00，余款 ¥119.30（扫码支付）"


def test_cash_part_cancelled_keeps_the_credit(fake):
    from tests.flows.conftest import deferred_journey

    fake.households["H1"].credit_fen = 3000
    gate = fake.hold("money")
    nav, runner = deferred_journey(fake, "pay_fees")
    flow = nav.flow
    flow.select_all(False)
    flow.toggle("B102")
    flow.choose_method("credit+cash")
    flow.next()
    flow.confirm()
    flow.cancel()
    gate.set()
    runner.run_pending()
    assert fake.households["H1"].credit_fen == 3000 and "B102" in fake.households["H1"].bills


def test_booking_method_step_shows_the_credit_and_pays_with_it(signed_in, fake):
    fake.households["H1"].credit_fen = 3000
    signed_in.go("bookings")
    flow = signed_in.flow
    flow.choose("broadband")
    flow.choose(flow.view().options[0].key)
    view = flow.view()
    assert view.step == "method" and ("账户余额（预存）", "¥30.00") in view.lines
    assert [o.key for o in view.options] == ["credit+cash", "credit+qr", "cash", "qr"]  # the fee is ¥50.00
    flow.choose("credit+cash")
    assert ("支付方式", "账户余额抵扣 ¥30.00，余款 ¥20.00（现金）") in flow.view().lines
    flow.primary()
    assert flow.view().step == "done" and fake.households["H1"].credit_fen == 0 and fake.cash_box_fen == 2000


def test_top_up_moves_all_the_credit_onto_the_card(signed_in, fake):
    fake.households["H1"].credit_fen = 3550
    signed_in.go("top_up")
    flow = signed_in.flow
    first = flow.view().options[0]
    assert (first.key, first.label) == ("3550", "账户余额全部充入 ¥35.50")
    flow.choose("3550")
    assert [o.key for o in flow.view().options] == ["credit", "cash", "qr"]
    flow.choose("credit")
    assert ("支付方式", "账户余额抵扣 ¥35.50") in flow.view().lines
    flow.primary()
    view = flow.view()
    assert view.step == "done" and ("充值后余额", "¥235.50") in view.lines
    assert fake.households["H1"].credit_fen == 0 and fake.cards["A1B2C3D4"].balance_fen == 23550


def test_staff_settlement_and_handover_show_the_credit_used(signed_in, fake):
    from tests.flows.test_staff_tools import _staff

    flow = _pay_fees_with_credit(signed_in, fake, 3000)
    flow.select_all(False)
    flow.toggle("B102")
    flow.choose_method("credit+cash")
    flow.next()
    flow.confirm()
    _staff(signed_in)
    signed_in.flow.settlement()
    lines = dict(signed_in.flow.view().settlement_lines)
    assert lines["余额抵扣：配合现金"] == "¥30.00"
    signed_in.flow.open("staff_handover")
    handover = signed_in.flow
    handover.key("1")
    handover.primary()
    handover.primary()
    assert dict(handover.view().lines)["账户余额抵扣合计"] == "¥30.00"
