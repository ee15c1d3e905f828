"""Pay fees journey: choose, confirm restating items/total/method, pay, result; failures, timeout, cancel."""
from __future__ import annotations

from kiosk import errors
from kiosk.flows.navigator import Navigator
from kiosk.flows.pay_fees import PayStep
from kiosk.flows.records import DeviceState
from kiosk.flows.runner import InlineRunner
from kiosk.flows.session import Session

from tests.flows.conftest import NOW, deferred_journey


def _choose_water_and_power(flow) -> None:
    flow.select_all(False)
    flow.toggle("B102")
    flow.toggle("B103")
    flow.choose_method("card")
    flow.next()


def test_home_shows_bills_due_total_and_balance(signed_in):
    view = signed_in.flow.view()
    assert len(view.bills) == 4 and view.total_due == "¥819.30" and view.balance == "¥200.00"
    assert [a.key for a in view.actions if a.enabled][:1] == ["pay_fees"]


def test_all_bills_are_preselected_and_card_balance_refused_when_short(signed_in):
    signed_in.go("pay_fees")
    view = signed_in.flow.view()
    assert view.step is PayStep.CHOOSE and view.all_selected and view.total == "¥819.30"
    card = next(m for m in view.methods if m.method == "card")
    assert not card.enabled and card.reason == "余额不足"


def test_confirm_page_restates_items_total_and_method(signed_in):
    signed_in.go("pay_fees")
    flow = signed_in.flow
    _choose_water_and_power(flow)
    view = flow.view()
    assert view.step is PayStep.CONFIRM
    assert view.confirm_lines == (("水费 2026-10", "¥42.80"), ("电费 2026-10", "¥126.50"))
    assert view.total == "¥169.30" and view.confirm_method == "卡内余额（住户卡 尾号C3D4）"


def test_paying_from_card_balance_gives_receipt_and_new_balance(signed_in, fake):
    signed_in.go("pay_fees")
    flow = signed_in.flow
    _choose_water_and_power(flow)
    flow.confirm()
    view = flow.view()
    assert view.step is PayStep.DONE and view.receipt_number == "00000001"
    assert ("卡内余额", "¥30.70") in view.result_lines
    assert fake.cards["A1B2C3D4"].balance_fen == 3070 and set(fake.households["H1"].bills) == {"B101", "B104"}
    assert fake.printed == ["00000001"]


def test_bill_paid_elsewhere_meanwhile_fails_with_nothing_charged(signed_in, fake):
    signed_in.go("pay_fees")
    flow = signed_in.flow
    _choose_water_and_power(flow)
    fake.fail("pay_bills", errors.BillAlreadyPaid("B102"))
    flow.confirm()
    view = flow.view()
    assert view.step is PayStep.FAILED and view.error.code == errors.BillAlreadyPaid.code
    assert "未扣款" in view.error.hint and view.error.reference


def test_cash_method_is_off_when_the_acceptor_is_down(fake):
    fake.set_device("cash", DeviceState.DOWN, "jam")
    runner = InlineRunner()
    nav = Navigator(fake, Session(), runner, clock=lambda: NOW)
    nav.go("attract")
    nav.flow.card_tapped("A1B2C3D4")
    nav.go("pay_fees")
    cash = next(m for m in nav.flow.view().methods if m.method == "cash")
    assert not cash.enabled and cash.reason == "暂不可用"


def test_timeout_while_paying_offers_check_again_with_the_same_key(fake):
    nav, runner = deferred_journey(fake, "pay_fees")
    flow = nav.flow
    _choose_water_and_power(flow)
    key = flow.key
    flow.confirm()
    assert flow.view().step is PayStep.PAYING and flow.view().progress is not None
    runner.expire_pending()
    view = flow.view()
    assert view.step is PayStep.UNCERTAIN and view.error.code == errors.RequestTimedOut.code
    flow.confirm()  # check again: same idempotency key
    runner.run_pending()
    assert flow.view().step is PayStep.DONE and flow.key == key


def test_retry_with_same_key_never_charges_twice(signed_in, fake):
    signed_in.go("pay_fees")
    flow = signed_in.flow
    _choose_water_and_power(flow)
    flow.confirm()
    first = flow.result
    flow.step = PayStep.UNCERTAIN  # as if the answer had been lost
    flow.confirm()
    assert flow.result == first and fake.cards["A1B2C3D4"].balance_fen == 3070 and len(fake.printed) == 1


def test_cancel_while_inserting_cash_stops_the_payment_and_charges_nothing(fake):
    nav, runner = deferred_journey(fake, "pay_fees")
    flow = nav.flow
    flow.select_all(False)
    flow.toggle("B102")
    flow.choose_method("cash")
    flow.next()
    flow.confirm()
    flow.cancel()  # asks the money mover to stop; the flow waits for its answer
    assert flow.view().step is PayStep.PAYING
    runner.run_pending()
    view = flow.view()
    assert view.step is PayStep.FAILED and view.error.code == errors.PaymentCancelled.code
    assert "余额" in view.error.hint and "B102" in fake.households["H1"].bills and fake.cash_box_fen == 0


def test_qr_payment_shows_the_code_while_waiting_for_the_gateway(fake):
    import threading

    nav, runner = deferred_journey(fake, "pay_fees")
    flow = nav.flow
    flow.select_all(False)
    flow.toggle("B103")
    flow.choose_method("qr")
    flow.next()
    flow.confirm()
    gate = fake.hold("money")
    worker = threading.Thread(target=runner.run_pending)
    worker.start()
    deadline = threading.Event()
    while flow.payment_progress is None and not deadline.wait(0.01):
        pass
    shown = flow.view().payment
    assert shown.qr.startswith("https://pay.example/qr/") and ("应付金额", "¥126.50") in shown.lines
    assert shown.text == "请用手机扫描二维码支付。" and shown.can_cancel
    gate.set()
    worker.join(5)
    assert flow.view().step is PayStep.DONE and flow.view().payment is None


def test_cancel_of_a_plain_call_drops_its_late_result(fake):
    runner = InlineRunner(defer=True)
    nav = Navigator(fake, Session(), runner, clock=lambda: NOW)
    nav.go("attract")
    runner.run_pending()
    nav.flow.card_tapped("A1B2C3D4")
    nav.flow.cancel()
    runner.run_pending()  # the identify answer arrives after the person cancelled
    assert nav.route.name == "identify" and nav.session.identity is None


def test_back_from_confirm_returns_to_choice_keeping_selection(signed_in):
    signed_in.go("pay_fees")
    flow = signed_in.flow
    _choose_water_and_power(flow)
    flow.back()
    assert flow.view().step is PayStep.CHOOSE and flow.selected == {"B102", "B103"}


def test_language_switch_mid_journey_keeps_the_step_and_choice(signed_in):
    signed_in.go("pay_fees")
    flow = signed_in.flow
    _choose_water_and_power(flow)
    signed_in.set_language("en")
    view = signed_in.flow.view()
    assert signed_in.flow is flow and view.step is PayStep.CONFIRM
    assert view.confirm_lines[0] == ("Water 2026-10", "¥42.80") and view.confirm_method == "Card balance (Resident card, ending C3D4)"
