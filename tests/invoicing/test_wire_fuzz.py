"""Fuzzed wire data: the simulator refuses any malformed order with a code, and the adapter turns any
malformed answer into InvoiceProviderUnreachable, never another exception."""
from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from devices.sim.tax_sim_book import TaxBook
from devices.sim.tax_sim_checks import Refusal
from devices.tax.nuonuo import NuonuoProvider
from devices.tax.token_store import FileTokenStore
from kiosk.errors import InvoiceProviderUnreachable
from kiosk.ports import InvoiceResult
from tests.invoicing.conftest import LEAN

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=25))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(st.text(max_size=12), inner, max_size=5)),
                           max_leaves=20)
DETAIL_KEYS = ["goodsName", "goodsCode", "withTaxFlag", "num", "price", "taxRate", "taxExcludedAmount", "tax",
               "taxIncludedAmount", "favouredPolicyFlag"]
ORDER_KEYS = ["orderNo", "invoiceDate", "invoiceType", "invoiceLine", "salerTaxNum", "clerk", "buyerName",
              "buyerTaxNum", "naturalPersonFlag", "pushMode", "buyerPhone", "email", "remark"]
near_details = st.fixed_dictionaries({}, optional={k: json_values for k in DETAIL_KEYS})
near_orders = st.fixed_dictionaries({}, optional={**{k: json_values for k in ORDER_KEYS},
                                                  "invoiceDetail": st.one_of(json_values, st.lists(near_details,
                                                                                                   max_size=3))})
ITEM_KEYS = ["orderNo", "serialNo", "status", "invoiceType", "invoiceTime", "failCause", "statusMsg", "qrCode",
             "pdfUrl", "allElectronicInvoiceNumber", "invoiceNo", "orderAmount"]
items = st.fixed_dictionaries({}, optional={k: json_values for k in ITEM_KEYS}) | st.fixed_dictionaries(
    {"status": st.sampled_from(["2", "20", "21", "22", "24", "3"])},
    optional={"invoiceTime": st.integers(), "orderAmount": st.one_of(st.text(max_size=12), st.integers()),
              "allElectronicInvoiceNumber": st.text(alphabet="0123456789", max_size=22), "qrCode": st.text(max_size=5),
              "pdfUrl": st.text(max_size=5), "orderNo": st.text(max_size=5)})


def _book() -> TaxBook:
    return TaxBook(app_key="K", app_secret="S", seller_tax_id=None, base_url="http://127.0.0.1:1")


@LEAN
@given(st.one_of(json_values, st.fixed_dictionaries({"order": near_orders})))
def test_any_malformed_order_is_refused_with_a_code(payload: Any) -> None:
    try:
        _book().request_billing(payload, 1_800_000_000.0)
    except Refusal as refusal:
        assert refusal.code and refusal.describe


@LEAN
@given(json_values)
def test_any_malformed_query_or_red_letter_is_refused_with_a_code(payload: Any) -> None:
    book = _book()
    for call in (book.query, book.reinvoice, book.save_red_form, book.fast_red):
        try:
            call(payload, 1_800_000_000.0)
        except Refusal as refusal:
            assert refusal.code


@LEAN
@given(items)
def test_any_answer_row_becomes_a_result_or_unreachable(item: dict[str, Any]) -> None:
    provider = NuonuoProvider("http://127.0.0.1:1", "K", "S", seller_tax_id="x", clerk="c",
                              token_store=FileTokenStore("/nonexistent/t.json"))
    try:
        assert isinstance(provider._result(item), InvoiceResult)
    except InvoiceProviderUnreachable:
        pass
