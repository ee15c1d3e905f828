"""开发票 after paying: the done page offers it, personal or company, the title from the phone (QR, countdown,
cancel, a bad tax ID refused with one line), a saved title reused masked with one tap, then "发票开具中"
(Kivy-free, on the in-memory services; titles checked by the real kiosk.invoices.titles)."""
from __future__ import annotations

from datetime import timedelta

from kiosk import errors
from kiosk.flows.invoice import FORM_SECONDS
from kiosk.flows.navigator import Navigator
from kiosk.flows.pay_fees import PayStep
from kiosk.flows.runner import InlineRunner
from kiosk.flows.session import Session

from tests.flows.conftest import NOW
from tests.support.fakes.services import FakeKioskServices

TAX_ID = "91350100M000100Y43"  # a valid unified social credit code (GB 32100 check character Y... 3)
COMPANY = "上海阳光物业管理有限公司"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self):  # type: ignore[no-untyped-def]
        return self.now


def _signed_in(fake: FakeKioskServices, clock: Clock) -> Navigator:
    nav = Navigator(fake, Session(), InlineRunner(), clock=clock)
    nav.go("attract")
    nav.flow.card_tapped("A1B2C3D4")
    assert nav.route.name == "household"
    return nav


def _pay_water(nav: Navigator, bill: str = "B102") -> str:
    nav.go("pay_fees")
    flow = nav.flow
    flow.select_all(False)
    flow.toggle(bill)
    flow.choose_method("cash")
    flow.next()
    flow.confirm()
    view = flow.view()
    assert view.step is PayStep.DONE
    return view.receipt_number


def _to_invoice(nav: Navigator, bill: str = "B102") -> str:
    receipt = _pay_water(nav, bill)
    assert nav.flow.view().invoice_caption == "开发票"
    nav.flow.request_invoice()
    assert nav.route.name == "invoice"
    return receipt


def test_the_done_page_offers_an_invoice_only_when_the_receipt_can_have_one():
    fake, clock = FakeKioskServices(now=NOW), Clock()
    nav = _signed_in(fake, clock)
    _pay_water(nav)
    assert nav.flow.view().invoice_caption == "开发票"
    fake.invoicing_off = True
    nav = _signed_in(fake, clock)
    _pay_water(nav, "B103")
    view = nav.flow.view()
    assert view.invoice_caption == "" and view.step is PayStep.DONE  # the payment itself is untouched
    nav.flow.request_invoice()
    assert nav.route.name == "pay_fees"


def test_company_title_from_the_phone_is_requested_and_shown_being_issued():
    fake, clock = FakeKioskServices(now=NOW), Clock()
    nav = _signed_in(fake, clock)
    receipt = _to_invoice(nav)
    flow = nav.flow
    view = flow.view()
    assert view.step == "kind" and [o.key for o in view.options] == ["personal", "company"]
    assert dict(view.lines) == {"收据号": receipt, "发票金额": "¥42.80"}
    flow.choose("company")
    view = flow.view()
    assert view.step == "form" and view.payment.qr.startswith("http://fake.tax/title-form/")
    assert view.payment.detail == "3:00 后失效" and view.back_is_cancel and view.ticking and view.payment.device == "qr"
    clock.now += timedelta(seconds=5)
    flow.tick()  # nothing submitted yet: the countdown moves
    assert flow.view().step == "form" and flow.view().payment.detail == "2:55 后失效"
    fake.fill_invoice_form(flow.form.session_id, "company", COMPANY, TAX_ID.lower())
    flow.tick()
    view = flow.view()
    assert view.step == "confirm" and dict(view.lines)["发票抬头"] == f"{COMPANY}\n{TAX_ID}"
    flow.primary()
    view = flow.view()
    assert view.step == "done" and view.prompt == "发票开具中" and "二维码" in view.message
    lines = dict(view.lines)
    assert lines["发票金额"] == "¥42.80" and lines["状态"] == "等待发送"
    assert lines["发票抬头"] == "上海****公司\n9135**********0Y43"
    (record,) = fake.household_invoices("H1")
    assert record.receipt_number == receipt and record.buyer_kind == "company" and record.total_fen == 4280
    flow.primary()
    assert nav.route.name == "household"


def test_cancel_on_the_form_drops_it_and_requests_nothing():
    fake, clock = FakeKioskServices(now=NOW), Clock()
    nav = _signed_in(fake, clock)
    _to_invoice(nav)
    flow = nav.flow
    flow.choose("personal")
    flow.back()  # the Cancel of the form
    assert flow.view().step == "kind" and fake.invoice_requests == {}
    flow.tick()  # a late tick of the screen's clock reads nothing
    assert "read_invoice_title" not in fake.calls


def test_an_abandoned_form_runs_out_and_can_be_opened_again():
    fake, clock = FakeKioskServices(now=NOW), Clock()
    nav = _signed_in(fake, clock)
    _to_invoice(nav)
    flow = nav.flow
    flow.choose("personal")
    clock.now += timedelta(seconds=FORM_SECONDS)
    flow.tick()
    view = flow.view()
    assert view.step == "expired" and "没有" in view.prompt and fake.invoice_requests == {}
    assert view.primary == "重试"
    flow.primary()  # a new form of the same kind
    assert flow.view().step == "form" and flow.view().payment.detail == "3:00 后失效"


def test_a_bad_tax_id_from_the_phone_is_one_line_with_its_code_and_nothing_is_requested():
    fake, clock = FakeKioskServices(now=NOW), Clock()
    nav = _signed_in(fake, clock)
    _to_invoice(nav)
    flow = nav.flow
    flow.choose("company")
    fake.fill_invoice_form(flow.form.session_id, "company", COMPANY, "91350100M000100Y44")
    flow.tick()
    view = flow.view()
    assert view.step == "form_error" and view.error.code == "E9005" and "91350100M000100Y44" in view.error.text
    assert view.options == () and view.primary == "重试" and fake.invoice_requests == {}
    flow.back()  # Back: the kinds again
    assert flow.view().step == "kind"


def test_a_saved_title_is_offered_masked_and_reused_with_one_tap():
    fake, clock = FakeKioskServices(now=NOW), Clock()
    nav = _signed_in(fake, clock)
    first = _to_invoice(nav)
    flow = nav.flow
    flow.choose("company")
    fake.fill_invoice_form(flow.form.session_id, "company", COMPANY, TAX_ID)
    flow.tick()
    flow.primary()
    nav.go("household")
    second = _to_invoice(nav, "B103")
    assert second != first
    view = nav.flow.view()
    saved = view.options[0]
    assert saved.key.startswith("saved:") and saved.label == "上海****公司" and saved.detail == "9135**********0Y43"
    assert COMPANY not in repr(view) and TAX_ID not in repr(view)
    nav.flow.choose(saved.key)
    assert nav.flow.view().step == "confirm"
    nav.flow.primary()
    assert nav.flow.view().step == "done"
    assert [r.receipt_number for r in fake.household_invoices("H1")] == [second, first]


def test_a_receipt_already_invoiced_shows_its_invoice_instead_of_a_second_request():
    fake, clock = FakeKioskServices(now=NOW), Clock()
    nav = _signed_in(fake, clock)
    receipt = _to_invoice(nav)
    nav.flow.choose("personal")
    fake.fill_invoice_form(nav.flow.form.session_id, "personal", "张三丰")
    nav.flow.tick()
    nav.flow.primary()
    (record,) = fake.household_invoices("H1")
    fake.settle_invoice(record.request_id)
    nav.go("invoice", receipt=receipt)
    view = nav.flow.view()
    assert view.step == "requested" and dict(view.lines)["发票号码"].startswith("2644")
    assert dict(view.lines)["发票抬头"] == "张*丰" and len(fake.invoice_requests) == 1


def test_invoicing_refused_after_the_offer_is_one_translated_line():
    fake, clock = FakeKioskServices(now=NOW), Clock()
    nav = _signed_in(fake, clock)
    _to_invoice(nav)
    fake.fail("open_invoice_form", errors.InvoiceProviderUnreachable("connection refused"))
    nav.flow.choose("company")
    view = nav.flow.view()
    assert view.step == "form_error" and view.error.code.startswith("E9") and view.error.text
