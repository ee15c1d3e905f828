"""Staff correct the title of a failed invoice on the kiosk (a saved title, or the phone form with its countdown and
cancel; checked by GB 32100) and retry it; a void of an invoiced receipt asks the red-letter reason before the
confirm, a void of a receipt without an invoice does not. Kivy-free, on the in-memory services (titles checked by
the real kiosk.invoices.titles)."""
from __future__ import annotations

from datetime import timedelta

from kiosk import errors
from kiosk.flows.invoice import FORM_SECONDS

from tests.flows.conftest import NOW
from tests.flows.test_invoice_records_and_staff import _invoiced, _staff
from tests.flows.test_invoice_request import COMPANY, TAX_ID, Clock
from tests.support.fakes.services import FakeKioskServices

FIXED_ID = "91310000MA1FL8XQ37"  # another valid unified social credit code
BAD_ID = "91350100M000100Y44"  # wrong check character


def _failed_detail(reason: str = "购方税号校验失败"):  # type: ignore[no-untyped-def]
    fake, clock = FakeKioskServices(now=NOW), Clock()
    nav, record = _invoiced(fake, clock)
    fake.settle_invoice(record.request_id, issued=False, reason=reason)
    _staff(nav)
    nav.flow.open("staff_invoices")
    nav.flow.choose("failed")
    nav.flow.choose(record.request_id)
    return fake, clock, nav, record


def test_a_failed_invoice_is_corrected_on_the_phone_form_and_sent_again_with_the_new_title():
    fake, clock, nav, record = _failed_detail()
    nav.flow.choose("correct")
    view = nav.flow.view()
    assert view.step == "title_kind" and dict(view.lines)["税务服务给出的原因"] == "购方税号校验失败"
    assert [o.key for o in view.options][-2:] == ["personal", "company"]
    assert view.options[0].label == "上海****公司"  # the household's saved title, masked
    nav.flow.choose("company")
    view = nav.flow.view()
    assert view.step == "title_form" and view.back_is_cancel and view.ticking and view.payment.qr.startswith("http")
    assert view.payment.detail == "3:00 后失效"
    clock.now += timedelta(seconds=5)
    nav.flow.tick()
    assert nav.flow.view().payment.detail == "2:55 后失效"
    fake.fill_invoice_form(nav.flow.t_form.session_id, "company", "上海阳光物业服务有限公司", FIXED_ID)
    nav.flow.tick()
    view = nav.flow.view()
    assert view.step == "title_confirm" and dict(view.lines)["新的发票抬头"] == f"上海阳光物业服务有限公司\n{FIXED_ID}"
    assert fake.invoice_requests[record.request_id].state == "failed"  # nothing before the confirm
    nav.flow.primary()
    view = nav.flow.view()
    assert view.step == "detail" and dict(view.lines)["状态"] == "等待发送" and "抬头已更正" in view.message
    assert fake.retried_titles[record.request_id].tax_id == FIXED_ID
    nav.flow.back()
    assert nav.flow.view().step == "list"


def test_a_saved_title_is_reused_with_one_tap_for_the_retry():
    fake, clock, nav, record = _failed_detail()
    nav.flow.choose("correct")
    saved = nav.flow.view().options[0]
    nav.flow.choose(saved.key)
    view = nav.flow.view()
    assert view.step == "title_confirm" and dict(view.lines)["新的发票抬头"] == "上海****公司\n9135**********0Y43"
    nav.flow.back()
    assert nav.flow.view().step == "title_kind"
    nav.flow.choose(saved.key)
    nav.flow.primary()
    assert fake.invoice_requests[record.request_id].state == "queued"
    assert fake.retried_titles[record.request_id].name == COMPANY


def test_a_bad_tax_id_from_the_phone_is_one_line_and_nothing_is_sent_again():
    fake, clock, nav, record = _failed_detail()
    nav.flow.choose("correct")
    nav.flow.choose("company")
    fake.fill_invoice_form(nav.flow.t_form.session_id, "company", COMPANY, BAD_ID)
    nav.flow.tick()
    view = nav.flow.view()
    assert view.step == "title_error" and view.error.code == "E9005" and view.primary == "重试"
    assert fake.invoice_requests[record.request_id].state == "failed"
    nav.flow.primary()  # a new form of the same kind
    assert nav.flow.view().step == "title_form"


def test_cancel_and_running_out_on_the_form_send_nothing():
    fake, clock, nav, record = _failed_detail()
    nav.flow.choose("correct")
    nav.flow.choose("personal")
    nav.flow.back()  # the Cancel
    assert nav.flow.view().step == "title_kind"
    nav.flow.choose("personal")
    clock.now += timedelta(seconds=FORM_SECONDS + 1)
    nav.flow.tick()
    view = nav.flow.view()
    assert view.step == "title_error" and view.prompt == "填写抬头的时间已到，未重新发送。"
    assert fake.invoice_requests[record.request_id].state == "failed" and "retry_invoice" not in fake.calls


def test_a_title_form_that_cannot_be_opened_says_so_and_what_to_do():
    fake, clock, nav, record = _failed_detail()
    nav.flow.choose("correct")
    fake.invoicing_off = True
    nav.flow.choose("company")
    view = nav.flow.view()
    assert view.step == "title_error" and view.error.code == "E9100"
    fake.invoicing_off = False
    nav.flow.primary()
    assert nav.flow.view().step == "title_form"


def test_a_retry_the_provider_cannot_confirm_is_one_line_and_changes_nothing():
    fake, clock, nav, record = _failed_detail()
    fake.retry_refusal = errors.InvoiceRetryUnconfirmed("order HY... : down")
    nav.flow.choose("retry")
    view = nav.flow.view()
    assert view.step == "detail" and view.error.code == "E9121" and "未重新发送" in view.error.text
    assert fake.invoice_requests[record.request_id].state == "failed"


def _void_to_reasons(nav, receipt: str):  # type: ignore[no-untyped-def]
    nav.flow.open("staff_receipts")
    nav.flow.choose(receipt)
    nav.flow.choose("void")
    nav.flow.choose("customer")


def test_a_void_of_an_invoiced_receipt_asks_the_red_letter_reason_before_the_confirm():
    fake, clock = FakeKioskServices(now=NOW), Clock()
    nav, record = _invoiced(fake, clock)
    fake.settle_invoice(record.request_id)
    _staff(nav)
    _void_to_reasons(nav, record.receipt_number)
    view = nav.flow.view()
    assert view.step == "void_red_reason"
    assert [o.label for o in view.options] == ["退货", "开票有误", "服务中止", "折让"]
    nav.flow.choose("1")
    view = nav.flow.view()
    assert view.step == "void_confirm" and dict(view.lines)["红冲原因"] == "退货"
    assert not fake.receipts[record.receipt_number]["voided"]  # nothing before the confirm
    nav.flow.primary()
    assert nav.flow.view().step == "done"
    assert fake.void_red_reasons[record.request_id] == "1"
    assert fake.invoice_requests[record.request_id].state == "red_lettered"


def test_a_void_of_a_receipt_without_an_invoice_does_not_ask():
    fake, clock = FakeKioskServices(now=NOW), Clock()
    nav, record = _invoiced(fake, clock)  # queued: the void cancels it outright
    _staff(nav)
    _void_to_reasons(nav, record.receipt_number)
    view = nav.flow.view()
    assert view.step == "void_confirm" and "红冲原因" not in dict(view.lines)
    nav.flow.primary()
    assert fake.invoice_requests[record.request_id].state == "cancelled" and not fake.void_red_reasons
