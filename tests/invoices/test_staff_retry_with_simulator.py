"""Staff's retry of a failed invoice against the real provider simulator process, through our Nuonuo adapter: the
old order number is asked about first, so a retry never makes two invoices; the title form's failure is its own
line (E9120). SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from kiosk.errors import (InvoiceNoLongerFailed, InvoiceRetryUnconfirmed, InvoiceTitleFormUnavailable,
                          InvoiceWrongState)
from kiosk.invoices import titles
from kiosk.invoices.states import InvoiceState
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import InvoiceAnswer

from .conftest import COMPANY, view
from .test_with_simulator import _invoicing, drain_until

FIXED = ("深圳市腾讯计算机系统有限公司", "9144030071526726XG")


def _failed(sim, paying, nuonuo, factory):  # type: ignore[no-untyped-def]
    sim.control(unregistered_tax_ids=[COMPANY[1]])
    try:
        invoice = paying.invoice(paying.bills().receipt_number)
        drain_until(nuonuo, factory, invoice.request_id, InvoiceState.FAILED)
    finally:
        sim.control(unregistered_tax_ids=[])
    return invoice


def test_a_corrected_title_is_sent_under_a_new_number_after_the_old_one_is_confirmed_failed(
        factory, mini, paying, nuonuo, sim, seen, table, tmp_path):
    invoicing = _invoicing(factory, mini, nuonuo, table, tmp_path)
    invoice = _failed(sim, paying, nuonuo, factory)
    again = invoicing.retry(invoice.request_id, actor="staff:王芳", buyer=titles.make_buyer("company", *FIXED))
    assert again.order_no != invoice.order_no and again.state is InvoiceState.QUEUED and again.buyer_name == FIXED[0]
    drain_until(nuonuo, factory, invoice.request_id, InvoiceState.ISSUED)
    assert seen()["orders"] == {invoice.order_no: "22", again.order_no: "2"}
    with unit_of_work(factory) as s:
        asked = s.scalars(select(InvoiceAnswer).where(InvoiceAnswer.order_no == invoice.order_no,
                                                      InvoiceAnswer.worker == "staff:王芳")).all()
    assert [(a.call, a.outcome) for a in asked] == [("query", "failed"), ("retry", "replaced")]
    with pytest.raises(InvoiceWrongState):  # issued now: nothing to retry
        invoicing.retry(invoice.request_id, actor="staff:王芳")


def test_a_failed_order_reissued_at_the_provider_meanwhile_is_fetched_never_sent_again(
        factory, mini, paying, nuonuo, sim, seen, table, tmp_path):
    invoicing = _invoicing(factory, mini, nuonuo, table, tmp_path)
    invoice = _failed(sim, paying, nuonuo, factory)
    nuonuo.reissue(invoice.order_no)  # someone re-issued it in the provider's console: it is issued after all
    with pytest.raises(InvoiceNoLongerFailed):
        invoicing.retry(invoice.request_id, actor="staff:王芳", buyer=titles.make_buyer("company", *FIXED))
    assert view(factory, invoice.request_id).state is InvoiceState.UNKNOWN  # asked about under the same number
    drain_until(nuonuo, factory, invoice.request_id, InvoiceState.ISSUED)
    done = view(factory, invoice.request_id)
    assert done.order_no == invoice.order_no and done.buyer_name == COMPANY[0]
    assert seen()["orders"] == {invoice.order_no: "2"}  # one invoice, the one the provider holds


def test_a_retry_the_provider_cannot_answer_about_changes_nothing(factory, mini, paying, nuonuo, sim, seen, table,
                                                                   tmp_path):
    invoicing = _invoicing(factory, mini, nuonuo, table, tmp_path)
    invoice = _failed(sim, paying, nuonuo, factory)
    sim.control(outage="503")
    try:
        with pytest.raises(InvoiceRetryUnconfirmed) as refused:
            invoicing.retry(invoice.request_id, actor="staff:王芳")
    finally:
        sim.control(outage=False)
    assert refused.value.code == "E9121" and "not sent again" in refused.value.user_message("en")
    still = view(factory, invoice.request_id)
    assert still.state is InvoiceState.FAILED and still.order_no == invoice.order_no
    assert seen()["orders"] == {invoice.order_no: "22"}


def test_a_title_form_that_cannot_be_opened_says_what_to_do_not_a_provider_message(factory, mini, nuonuo, sim, table,
                                                                                   tmp_path):
    invoicing = _invoicing(factory, mini, nuonuo, table, tmp_path)
    sim.control(outage="drop")
    try:
        with pytest.raises(InvoiceTitleFormUnavailable) as refused:
            invoicing.open_title_form(120)
    finally:
        sim.control(outage=False)
    line = refused.value.user_message("en")
    assert refused.value.code == "E9120" and "phone could not be opened" in line and "saved" in line
    assert "will be sent later" not in line
    assert "手机上的发票抬头表单" in refused.value.user_message("zh_Hans")
