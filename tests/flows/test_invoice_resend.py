"""My invoices: an issued invoice is sent again by SMS to a number typed on the keypad, masked once sent, three
times a day; a bad number, the limit and the provider away are one translated line each, and nothing is sent.
Kivy-free, on the in-memory services (the number and the limit checked by the real kiosk.invoices.delivery)."""
from __future__ import annotations

from tests.flows.conftest import NOW
from tests.flows.test_invoice_records_and_staff import _invoiced
from tests.flows.test_invoice_request import Clock
from tests.support.fakes.services import FakeKioskServices


def _issued_detail(fake: FakeKioskServices):
    nav, record = _invoiced(fake, Clock())
    issued = fake.settle_invoice(record.request_id)
    nav.go("records")
    nav.flow.choose("invoices")
    nav.flow.choose(issued.request_id)
    assert nav.flow.view().step == "detail"
    return nav, issued


def _type(nav, digits: str) -> None:
    for d in digits:
        nav.flow.key(d)


def test_an_issued_invoice_is_sent_by_sms_and_the_number_is_masked_once_sent():
    fake = FakeKioskServices(now=NOW)
    nav, issued = _issued_detail(fake)
    assert nav.flow.view().primary == "短信发送"
    nav.flow.primary()
    view = nav.flow.view()
    assert view.step == "phone" and view.keypad and view.prompt == "请输入接收发票的手机号码"
    assert not view.primary_enabled
    _type(nav, "1380013800")
    assert nav.flow.view().entry == "138 0013 800" and not nav.flow.view().primary_enabled
    _type(nav, "09")  # an 11th digit is taken, a 12th ignored
    view = nav.flow.view()
    assert view.entry == "138 0013 8000" and view.primary_enabled and view.primary == "发送发票"
    nav.flow.primary()
    view = nav.flow.view()
    assert view.step == "sent" and view.prompt == "发票已发送至 138****8000"
    assert ("手机号码", "138****8000") in view.lines and view.message == "今天还可再发送 2 次。"
    assert "13800138000" not in repr(view) and nav.flow.phone == ""
    assert fake.invoice_deliveries == [(issued.request_id, "13800138000")]
    nav.flow.primary()  # Done: back on the invoice
    assert nav.flow.view().step == "detail"


def test_a_number_that_is_not_a_mobile_is_refused_and_can_be_corrected():
    fake = FakeKioskServices(now=NOW)
    nav, _ = _issued_detail(fake)
    nav.flow.primary()
    _type(nav, "23800138000")
    nav.flow.primary()
    view = nav.flow.view()
    assert view.step == "resend_failed" and view.error.code == "E9130"
    assert view.error.text == "23800138000 不是有效的手机号码，请检查。" and view.error.hint == "请核对号码后重试。"
    nav.flow.primary()  # Try again: the number is still there to correct
    assert nav.flow.view().step == "phone" and nav.flow.view().entry == "238 0013 8000"
    nav.flow.key("clear")
    _type(nav, "13900139000")
    nav.flow.primary()
    assert nav.flow.view().step == "sent" and fake.invoice_deliveries[-1][1] == "13900139000"


def test_three_re_sends_a_day_then_one_clear_line():
    fake = FakeKioskServices(now=NOW)
    nav, _ = _issued_detail(fake)
    for left in (2, 1, 0):
        nav.flow.primary()
        _type(nav, "13800138000")
        nav.flow.primary()
        assert nav.flow.view().message == f"今天还可再发送 {left} 次。"
        nav.flow.primary()
    nav.flow.primary()
    _type(nav, "13800138000")
    nav.flow.primary()
    view = nav.flow.view()
    assert view.error.code == "E9132" and view.error.text == "这张发票今天已发送 3 次，请明天再试。"
    assert len(fake.invoice_deliveries) == 3


def test_the_provider_away_says_nothing_was_sent():
    fake = FakeKioskServices(now=NOW)
    nav, _ = _issued_detail(fake)
    fake.invoice_delivery_down = True
    nav.flow.primary()
    _type(nav, "13800138000")
    nav.flow.primary()
    view = nav.flow.view()
    assert view.error.code == "E9133" and "未发送任何内容" in view.error.text
    assert fake.invoice_deliveries == []
    nav.flow.back()
    assert nav.flow.view().step == "detail"


def test_an_invoice_still_being_issued_offers_no_re_send():
    fake = FakeKioskServices(now=NOW)
    nav, record = _invoiced(fake, Clock())
    nav.go("records")
    nav.flow.choose("invoices")
    nav.flow.choose(record.request_id)
    assert nav.flow.view().primary == ""
    nav.flow.primary()
    assert nav.flow.view().step == "detail"
