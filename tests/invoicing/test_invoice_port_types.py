"""The invoice port's values refuse what no provider would accept, before anything is sent."""
from __future__ import annotations

from datetime import datetime

import pytest

from kiosk.ports import (BuyerKind, InvoiceBuyer, InvoiceLine, InvoiceOrder, InvoiceResult, InvoiceStatus,
                         RedLetterReason, RedLetterRequest, TaxPolicy)


def line(**changes: object) -> InvoiceLine:
    values: dict[str, object] = dict(fee_kind="management", goods_name="物业管理服务", tax_code="3040802010000000000",
                                     rate_permille=60, policy=TaxPolicy.NONE, quantity=1, tax_included_fen=10600,
                                     tax_excluded_fen=10000, tax_fen=600)
    values.update(changes)
    return InvoiceLine(**values)  # type: ignore[arg-type]


def test_a_line_whose_parts_do_not_add_up_is_refused() -> None:
    with pytest.raises(ValueError, match="!="):
        line(tax_fen=601)


@pytest.mark.parametrize("changes", [{"tax_included_fen": 106.0}, {"tax_fen": True}])
def test_a_line_takes_integer_fen_only(changes: dict[str, object]) -> None:
    with pytest.raises(TypeError):
        line(**changes)


@pytest.mark.parametrize("code", ["304080201000000000", "30408020100000000000", "304080201000000000X"])
def test_a_tax_code_is_nineteen_digits(code: str) -> None:
    with pytest.raises(ValueError, match="19 digits"):
        line(tax_code=code)


def test_order_numbers_are_at_most_twenty_plain_characters() -> None:
    buyer = InvoiceBuyer(BuyerKind.PERSONAL, "张三")
    InvoiceOrder("K1-20261128-000001_A", buyer, (line(),), datetime(2026, 11, 28))
    for bad in ("K1-20261128-000001_AB", "", "订单1", "K1 2"):
        with pytest.raises(ValueError, match="order number"):
            InvoiceOrder(bad, buyer, (line(),), datetime(2026, 11, 28))


def test_a_company_buyer_needs_its_tax_id_and_a_person_has_none() -> None:
    with pytest.raises(ValueError):
        InvoiceBuyer(BuyerKind.COMPANY, "某某物业有限公司")
    with pytest.raises(ValueError):
        InvoiceBuyer(BuyerKind.PERSONAL, "张三", tax_id="91350100M000100Y43")


def test_an_issued_answer_carries_a_twenty_digit_number_a_qr_and_a_pdf() -> None:
    with pytest.raises(ValueError, match="20-digit"):
        InvoiceResult("K1", InvoiceStatus.ISSUED, invoice_no="123", qr_payload="x", pdf_url="http://x")
    with pytest.raises(ValueError, match="QR"):
        InvoiceResult("K1", InvoiceStatus.ISSUED, invoice_no="2" * 20)
    assert InvoiceResult("K1", InvoiceStatus.ISSUED, invoice_no="2" * 20, qr_payload="q", pdf_url="u").final


def test_a_red_letter_names_the_twenty_digit_original() -> None:
    with pytest.raises(ValueError, match="20 digits"):
        RedLetterRequest("R1", "1234", "K1", RedLetterReason.WRONG)
