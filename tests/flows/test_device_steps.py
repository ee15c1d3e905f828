"""Device steps in the view records: which device the person acts on (`device`, drawn as a pictogram), the
step's heading, the amounts due and received, the notes the acceptor takes, the no-change rule said once."""
from __future__ import annotations

import threading

from kiosk.flows.base import (DEVICE_CARD, DEVICE_NOTES, DEVICE_PHONE, DEVICE_PRINTER, DEVICE_QR, DEVICE_SCANNER,
                              note_label)
from kiosk.flows.pay_fees import PayStep
from kiosk.payments.cash_collector import to_progress
from kiosk.payments.cash_session import NOTICE_NO_CHANGE, CashSession
from kiosk.payments.control import PaymentProgress, Stage
from tests.flows.conftest import deferred_journey
from tests.support.fakes.payments import FakeCashAcceptor


def _while_money_waits(fake, runner, flow):  # type: ignore[no-untyped-def]
    """Run the pending payment on a thread with the money held; returns (gate, worker) once progress shows."""
    gate = fake.hold("money")
    worker = threading.Thread(target=runner.run_pending)
    worker.start()
    waited = threading.Event()
    while flow.payment_progress is None and not waited.wait(0.01):
        pass
    return gate, worker


def _pay_fees_confirm(fake, method: str):  # type: ignore[no-untyped-def]
    nav, runner = deferred_journey(fake, "pay_fees")
    flow = nav.flow
    flow.select_all(False)
    flow.toggle("B103")  # electricity ¥126.50
    flow.choose_method(method)
    flow.next()
    runner.run_pending()  # the printer check
    return nav, runner, flow


def test_cash_page_says_insert_banknotes_with_due_received_and_the_notes_the_acceptor_takes(fake):
    fake.cash_notes_fen = (2000, 5000, 10000)  # this acceptor takes no ¥10 notes
    _nav, runner, flow = _pay_fees_confirm(fake, "cash")
    flow.confirm()
    gate, worker = _while_money_waits(fake, runner, flow)
    view = flow.view()
    shown = view.payment
    assert shown.device == DEVICE_NOTES and shown.heading == "请投入纸币" and view.prompt == "请投入纸币"
    assert (shown.due, shown.received) == ("¥126.50", "¥0.00")
    assert shown.notes == ("¥20", "¥50", "¥100")
    assert shown.notice == "本机不找零，超出应付金额的部分将存入您的住户账户。"
    assert shown.detail == "" and shown.notice not in (shown.heading, view.notice)  # said once, in its own box
    gate.set()
    worker.join(5)
    assert flow.view().step is PayStep.DONE and flow.view().payment is None


def test_qr_page_says_scan_the_code_and_shows_the_code_device(fake):
    _nav, runner, flow = _pay_fees_confirm(fake, "qr")
    flow.confirm()
    gate, worker = _while_money_waits(fake, runner, flow)
    shown = flow.view().payment
    assert shown.device == DEVICE_QR and shown.qr.startswith("https://pay.example/qr/")
    assert shown.heading == "请扫码支付" and shown.due == "¥126.50" and shown.received == "" and shown.notes == ()
    gate.set()
    worker.join(5)


def test_top_up_heading_matches_the_banknote_step_not_please_wait(fake):
    nav, runner = deferred_journey(fake, "top_up")
    flow = nav.flow
    flow.choose("10000")
    flow.choose("cash")
    runner.run_pending()
    flow.primary()
    gate, worker = _while_money_waits(fake, runner, flow)
    view = flow.view()
    assert view.prompt == "请投入纸币" and view.payment.device == DEVICE_NOTES
    assert view.payment.due == "¥100.00" and view.payment.notes == ("¥10", "¥20", "¥50", "¥100")
    gate.set()
    worker.join(5)
    assert flow.view().step == "done"


def test_done_pages_show_the_printer_slot_while_the_receipt_prints(signed_in, fake):
    signed_in.go("pay_fees")
    flow = signed_in.flow
    assert flow.view().device == ""
    flow.select_all(False)
    flow.toggle("B102")
    flow.choose_method("card")
    flow.next()
    flow.confirm()
    assert flow.view().step is PayStep.DONE and flow.view().device == DEVICE_PRINTER
    signed_in.go("top_up")
    top_up = signed_in.flow
    top_up.choose("5000")
    top_up.choose("qr")
    assert top_up.view().device == ""
    top_up.primary()
    assert top_up.view().step == "done" and top_up.view().device == DEVICE_PRINTER


def test_no_printer_pictogram_when_the_receipt_cannot_print_now(signed_in, fake):
    fake.paper = "out"
    signed_in.go("pay_fees")
    flow = signed_in.flow
    flow.select_all(False)
    flow.toggle("B102")
    flow.choose_method("card")
    flow.next()
    flow.confirm()
    assert flow.view().step is PayStep.DONE and flow.view().device == ""


def test_replacing_a_card_asks_for_the_new_card_at_the_reader(signed_in):
    signed_in.go("card_loss")
    flow = signed_in.flow
    assert flow.view().device == ""
    flow.choose("replace")
    assert flow.view().step == "tap_new" and flow.view().device == DEVICE_CARD
    flow.card_tapped("0FEEDBAC")
    assert flow.view().step == "method" and flow.view().device == ""


def test_confirm_from_card_balance_says_the_balance_now_and_after(signed_in, fake):
    signed_in.go("pay_fees")
    flow = signed_in.flow
    flow.select_all(False)
    flow.toggle("B102")  # water ¥42.80
    flow.choose_method("card")
    before = fake.cards["A1B2C3D4"].balance_fen
    assert flow.view().charge_lines == ()
    flow.next()
    assert flow.view().charge_lines == (("卡内余额（当前）", _yuan(before)), ("支付后卡内余额", _yuan(before - 4280)))


def test_card_and_overpay_stages_name_their_device_and_say_the_live_message(signed_in):
    signed_in.go("top_up")
    flow = signed_in.flow
    flow.job = _Pending()
    flow.payment_progress = PaymentProgress(Stage.HOLD_CARD, can_cancel=False)
    shown = flow.payment_view()
    assert shown.device == DEVICE_CARD and shown.heading == "请勿移开卡片" and shown.detail == ""
    flow.payment_progress = PaymentProgress(Stage.PLACE_CARD, message="Put the same card back on the reader to finish.")
    assert flow.payment_view().detail == "请把同一张卡放回读卡器以完成操作。"
    flow.payment_progress = PaymentProgress(Stage.CONFIRM_OVERPAY, 3000, 0, notes_fen=(5000,),
                                            message="This note is more than needed: {excess} will be credited "
                                                    "to your account. Accept it?", params=(("excess", 2000),))
    shown = flow.payment_view()
    assert shown.device == DEVICE_NOTES and shown.overpay and "¥20.00" in shown.detail and shown.notes == ("¥50",)


def test_each_qr_stage_of_both_directions_names_where_the_resident_acts(signed_in):
    """The kiosk's code on screen; the payment code at the scanner; then (USERPAYING) the resident's own phone asking
    for the password, not the scanner any more; the receipt at the printer."""
    signed_in.go("pay_fees")
    flow = signed_in.flow
    flow.job = _Pending()
    seen = {}
    for stage in (Stage.SCAN_QR, Stage.SHOW_CODE, Stage.CONFIRM_ON_PHONE, Stage.FINISHING):
        flow.payment_progress = PaymentProgress(stage, 81930, code_url="weixin://wxpay/bizpayurl?pr=x")
        shown = flow.payment_view()
        seen[stage] = (shown.device, shown.heading)
    assert seen == {Stage.SCAN_QR: (DEVICE_QR, "请扫码支付"), Stage.SHOW_CODE: (DEVICE_SCANNER, "出示付款码"),
                    Stage.CONFIRM_ON_PHONE: (DEVICE_PHONE, "在手机上确认"),
                    Stage.FINISHING: (DEVICE_PRINTER, "正在打印收据")}


def test_cash_progress_carries_the_notes_the_acceptor_has_enabled():
    acceptor = FakeCashAcceptor()
    session = CashSession(acceptor, 3500, lambda _event: None)
    assert to_progress(session.view(), 3500).notes_fen == ()  # the notice comes before any note is enabled
    progress = to_progress(session.start(), 3500)
    assert progress.stage is Stage.INSERT_NOTES and progress.notice == NOTICE_NO_CHANGE
    assert progress.notes_fen == tuple(sorted(acceptor.enabled)) and 10000 in progress.notes_fen


def test_note_labels_are_written_as_on_the_note():
    assert [note_label(v) for v in (1000, 2000, 5000, 10000, 50)] == ["¥10", "¥20", "¥50", "¥100", "¥0.50"]


class _Pending:
    finished = False


def _yuan(fen: int) -> str:
    from kiosk.i18n import format_money

    return format_money(fen, "zh_Hans")
