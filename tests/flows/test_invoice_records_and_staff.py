"""My records shows the household's invoices (number, amount, state, a QR for the PDF); staff's invoice page lists
requests by state, sends a failed one again and reverses an issued one with a red letter and its reason."""
from __future__ import annotations

from tests.flows.conftest import NOW as NOW_
from tests.flows.test_invoice_request import COMPANY, TAX_ID, Clock, _signed_in, _to_invoice
from tests.support.fakes.services import FakeKioskServices


def _invoiced(fake: FakeKioskServices, clock: Clock, bill: str = "B102"):
    nav = _signed_in(fake, clock)
    _to_invoice(nav, bill)
    nav.flow.choose("company")
    fake.fill_invoice_form(nav.flow.form.session_id, "company", COMPANY, TAX_ID)
    nav.flow.tick()
    nav.flow.primary()
    return nav, fake.household_invoices("H1")[0]


def _staff(nav) -> None:
    nav.go("staff_unlock")
    for d in "2468":
        nav.flow.key(d)
    nav.flow.submit()
    assert nav.route.name == "staff_home"


def test_my_records_opens_the_households_invoices_with_a_qr_for_the_pdf_once_issued():
    fake, clock = FakeKioskServices(now=NOW_), Clock()
    nav, record = _invoiced(fake, clock)
    nav.go("records")
    first = nav.flow.view().options[0]
    assert first.key == "invoices" and first.label == "我的发票" and first.detail == "1 张发票"
    nav.flow.choose("invoices")
    assert nav.route.name == "my_invoices"
    (row,) = nav.flow.view().options
    assert row.label == "等待发送" and row.value == "¥42.80" and row.icon == "clock"
    issued = fake.settle_invoice(record.request_id)
    nav.flow.refresh()  # the worker's change arrives on the bus
    (row,) = nav.flow.view().options
    assert row.label == "已开具" and issued.invoice_no in row.detail
    nav.flow.choose(row.key)
    view = nav.flow.view()
    assert view.payment.qr == issued.qr_payload and view.prompt == "扫码获取发票 PDF" and view.payment.device == "qr"
    assert view.payment.detail == f"发票号码 {issued.invoice_no}\n发票金额 ¥42.80"  # beside the code
    assert dict(view.lines)["发票号码"] == issued.invoice_no and dict(view.lines)["发票抬头"] == "上海****公司\n9135**********0Y43"
    nav.flow.back()
    assert nav.flow.view().step == "list"
    nav.flow.back()
    assert nav.route.name == "records"


def test_staff_list_by_state_shows_the_providers_reason_and_sends_a_failed_one_again():
    fake, clock = FakeKioskServices(now=NOW_), Clock()
    nav, record = _invoiced(fake, clock)
    fake.settle_invoice(record.request_id, issued=False, reason="购方税号校验失败")
    _staff(nav)
    nav.flow.open("staff_invoices")
    view = nav.flow.view()
    counts = {o.key: (o.value, o.enabled) for o in view.options}
    assert counts["failed"] == ("1", True) and counts["pending"] == ("0", False)
    nav.flow.choose("failed")
    (row,) = nav.flow.view().options
    assert "购方税号校验失败" in row.detail and row.value == "¥42.80"
    nav.flow.choose(row.key)
    view = nav.flow.view()
    assert dict(view.lines)["税务服务给出的原因"] == "购方税号校验失败"
    assert [o.key for o in view.options] == ["correct", "retry"]
    nav.flow.choose("retry")
    view = nav.flow.view()
    assert view.step == "detail" and dict(view.lines)["状态"] == "等待发送" and view.options == ()
    assert "新的订单号" in view.message and fake.invoice_requests[record.request_id].state == "queued"


def test_staff_reverse_an_issued_invoice_with_a_reason_code_after_a_confirm():
    fake, clock = FakeKioskServices(now=NOW_), Clock()
    nav, record = _invoiced(fake, clock)
    fake.settle_invoice(record.request_id)
    _staff(nav)
    nav.flow.open("staff_invoices")
    nav.flow.choose("issued")
    nav.flow.choose(record.request_id)
    nav.flow.choose("red")
    view = nav.flow.view()
    assert [o.label for o in view.options] == ["退货", "开票有误", "服务中止", "折让"]
    nav.flow.choose("2")
    view = nav.flow.view()
    assert view.step == "red_confirm" and dict(view.lines)["原因"] == "开票有误"
    assert fake.invoice_requests[record.request_id].state == "issued"  # nothing before the confirm
    nav.flow.primary()
    view = nav.flow.view()
    assert view.step == "detail" and dict(view.lines)["已红冲"] == "¥42.80"
    assert fake.invoice_requests[record.request_id].state == "red_lettered"
    assert [a for _s, a in fake.audit if a.startswith("invoice red")] == ["invoice red letter"]


def test_the_staff_invoice_page_needs_a_signed_in_staff_member():
    fake, clock = FakeKioskServices(now=NOW_), Clock()
    nav = _signed_in(fake, clock)
    nav.go("staff_invoices")
    assert nav.route.name != "staff_invoices" and "staff_invoices" not in fake.calls

