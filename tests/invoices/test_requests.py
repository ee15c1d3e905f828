"""Invoice requests: stored with their order number and lines before anything is sent; titles checked first."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from kiosk.errors import InvalidTaxId, InvoiceAlreadyRequested, InvoiceNotOffered, InvoiceTitleInvalid
from kiosk.invoices import requests, titles
from kiosk.invoices.states import InvoiceState
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import InvoiceLineRecord, InvoiceRequest, PaymentItem
from kiosk.ports import BuyerKind
from kiosk.services import receipts, voids
from tests.services.helpers import audit_actions, rows

from .conftest import COMPANY


def test_a_request_is_stored_with_its_order_number_and_lines_in_receipt_order_before_anything_is_sent(
        factory, paying, provider):
    paid = paying.bills(count=3)
    invoice = paying.invoice(paid.receipt_number)
    assert invoice.state is InvoiceState.QUEUED and provider.sends == {}
    assert 1 <= len(invoice.order_no) <= 20 and invoice.order_no.startswith("HY") and invoice.order_no.isalnum()
    with unit_of_work(factory) as s:
        items = s.scalars(select(PaymentItem).where(PaymentItem.payment_id == paid.payment_id)
                          .order_by(PaymentItem.id)).all()
        lines = s.scalars(select(InvoiceLineRecord).order_by(InvoiceLineRecord.position)).all()
        doc = receipts.document(receipts.find(s, paying.mini.till.site_id, int(paid.receipt_number)))
    assert [(l.position, l.fee_kind, l.included_fen) for l in lines] == \
        [(n, i.fee_kind, i.amount_fen) for n, i in enumerate(items, start=1)]
    assert [l.detail for l in lines] == [i.detail for i in doc.items]  # the bill's period, as on the receipt
    assert all(l.excluded_fen + l.tax_fen == l.included_fen for l in lines)
    assert invoice.total_fen == paid.amount_fen and "invoice.requested" in audit_actions(factory)


def test_one_receipt_gets_one_request(paying):
    paid = paying.bills()
    paying.invoice(paid.receipt_number)
    with pytest.raises(InvoiceAlreadyRequested):
        paying.invoice(paid.receipt_number, kind="personal", name="张三")


def test_a_voided_receipt_or_a_void_receipt_gets_no_invoice(factory, paying):
    paid = paying.bills()
    with unit_of_work(factory) as s:
        result = voids.void_receipt(s, paying.mini.till, number=paid.receipt_number, reason="wrong", actor="staff:s",
                                    language="en")
    for number in (paid.receipt_number, result.void_receipt_number):
        with pytest.raises(InvoiceNotOffered):
            paying.invoice(number)


def test_the_offer_says_what_an_invoice_would_cover(factory, paying):
    paid = paying.bills(count=2)
    with unit_of_work(factory) as s:
        offer = requests.offer(s, paying.mini.till.site_id, paid.receipt_number, paying.table)
    assert offer.can_request and offer.invoiceable_fen == paid.amount_fen and offer.lines == 2
    paying.invoice(paid.receipt_number)
    with unit_of_work(factory) as s:
        offer = requests.offer(s, paying.mini.till.site_id, paid.receipt_number, paying.table)
    assert not offer.can_request and offer.existing is not None and offer.existing.state is InvoiceState.QUEUED


def test_kinds_the_table_does_not_invoice_are_left_out(factory, paying, table):
    from dataclasses import replace

    from kiosk.invoices.tax_table import TaxTable

    no_water = TaxTable({k: (replace(r, invoiceable=False) if k == "water" else r) for k, r in table.rows.items()})
    paid = paying.bills(count=3)  # management, water, electricity
    buyer = titles.make_buyer("personal", "张三")
    with unit_of_work(factory) as s:
        invoice = requests.request_invoice(s, site_id=paying.mini.till.site_id, receipt_number=paid.receipt_number,
                                           buyer=buyer, table=no_water, actor="kiosk:K01")
    assert [l.fee_kind for l in invoice.lines] == ["management", "electricity"]
    assert [l.position for l in invoice.lines] == [1, 2] and invoice.total_fen < paid.amount_fen


def test_a_bad_tax_id_is_refused_before_anything_is_stored_or_sent(factory, paying, provider):
    paid = paying.bills()
    with pytest.raises(InvalidTaxId) as err:
        paying.invoice(paid.receipt_number, tax_id=COMPANY[1][:-1] + "X")
    assert err.value.code == "E9005"
    assert rows(factory, InvoiceRequest) == 0 and provider.sends == {}


@pytest.mark.parametrize("name, words", [
    ("", "empty"),
    ("阳光<script>", "character <"),
    ("阳光物业\u0007", "character"),
    ("阳光物业😀", "character"),
    ("有" * 101, "101 characters"),
])
def test_bad_or_very_long_titles_are_refused(name, words):
    with pytest.raises(InvoiceTitleInvalid) as err:
        titles.make_buyer("company", name, COMPANY[1])
    assert words in str(err.value) and err.value.code == "E9105"


def test_titles_are_cleaned_and_personal_names_take_no_tax_id():
    buyer = titles.make_buyer("company", "  上海阳光　物业（集团）有限公司 ", " 91350100m000100y43 ")
    assert buyer.name == "上海阳光 物业(集团)有限公司" and buyer.tax_id == COMPANY[1]
    with pytest.raises(InvoiceTitleInvalid):
        titles.make_buyer("personal", "张三", COMPANY[1])
    with pytest.raises(InvoiceTitleInvalid):
        titles.make_buyer("personal", "张三", phone="12345")


def test_a_household_reuses_a_saved_title_shown_masked(factory, paying):
    first, second = paying.bills(count=1), paying.bills(count=1)
    paying.invoice(first.receipt_number)
    hh = paying.mini.household_ids[0]
    with unit_of_work(factory) as s:
        saved = titles.saved_titles(s, hh)
        other = titles.saved_titles(s, paying.mini.household_ids[1])
    assert other == ()
    assert [(t.kind, t.name_masked, t.tax_id_masked) for t in saved] == \
        [(BuyerKind.COMPANY, "上海****公司", "9135**********0Y43")]
    with unit_of_work(factory) as s:
        buyer = titles.saved_buyer(s, hh, saved[0].title_id)
        again = requests.request_invoice(s, site_id=paying.mini.till.site_id, receipt_number=second.receipt_number,
                                         buyer=buyer, table=paying.table, actor="kiosk:K01")
    assert (again.buyer_name, again.buyer_tax_id) == COMPANY
    with unit_of_work(factory) as s:
        assert len(titles.saved_titles(s, hh)) == 1
        with pytest.raises(Exception):
            titles.saved_buyer(s, paying.mini.household_ids[1], saved[0].title_id)  # not another household's


def test_masks_keep_enough_for_the_holder():
    assert titles.mask_name("personal", "张三") == "张*"
    assert titles.mask_name("personal", "欧阳娜娜") == "欧**娜"
    assert titles.mask_name("company", "上海阳光物业管理有限公司") == "上海****公司"
