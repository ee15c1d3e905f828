"""Red letters through the adapter: the red-letter form, then the fast red, whole or line by line."""
from __future__ import annotations

import pytest

from devices.tax.nuonuo import NuonuoProvider
from kiosk.errors import InvoiceRejected
from kiosk.ports import InvoiceOrder, InvoiceResult, InvoiceStatus, RedLetterReason, RedLetterRequest
from tests.invoicing.conftest import Sim, line, order, order_no, wait_final

PARKING = dict(fee_kind="parking", goods_name="停车服务", tax_code="3040502020100000000", rate_permille=90)


def issued(provider: NuonuoProvider, sent: InvoiceOrder) -> InvoiceResult:
    provider.request_invoice(sent)
    result = wait_final(provider, sent.order_no)
    assert result.status is InvoiceStatus.ISSUED
    return result


def red(blue: InvoiceResult, *lines, reason=RedLetterReason.WRONG, number: str | None = None) -> RedLetterRequest:
    return RedLetterRequest(number or order_no("R"), blue.invoice_no, blue.order_no, reason, tuple(lines))


def test_a_whole_invoice_is_reversed_by_a_red_invoice_of_its_own(sim: Sim, provider: NuonuoProvider):
    blue = issued(provider, order(line(10600), line(2180, **PARKING)))
    request = red(blue)

    assert provider.red_letter(request).status is InvoiceStatus.ACCEPTED
    reversed_ = wait_final(provider, request.order_no)

    assert reversed_.status is InvoiceStatus.ISSUED and reversed_.red
    assert reversed_.total_fen == -(10600 + 2180) and reversed_.invoice_no != blue.invoice_no
    assert provider.query(blue.order_no) == blue  # the blue invoice stands: reversed, never voided


def test_asking_again_for_the_same_red_letter_is_a_duplicate_not_a_second_red(sim: Sim, provider: NuonuoProvider):
    blue = issued(provider, order())
    request = red(blue)
    provider.red_letter(request)
    assert provider.red_letter(request).status is InvoiceStatus.DUPLICATE
    with pytest.raises(InvoiceRejected, match="全额冲红"):
        provider.red_letter(red(blue))  # a new red order on an invoice with nothing left to reverse


def test_a_partial_red_letter_reverses_only_its_lines_in_the_invoices_order(sim: Sim, provider: NuonuoProvider):
    management, parking = line(10600), line(2180, **PARKING)
    blue = issued(provider, order(management, parking))
    first = red(blue, parking, reason=RedLetterReason.RETURN)

    provider.red_letter(first)
    result = wait_final(provider, first.order_no)

    assert result.status is InvoiceStatus.ISSUED and result.total_fen == -2180
    with pytest.raises(InvoiceRejected):
        provider.red_letter(red(blue, management, parking))  # parking is already reversed
    rest = red(blue, management)
    provider.red_letter(rest)
    assert wait_final(provider, rest.order_no).total_fen == -10600


def test_lines_out_of_the_invoices_order_do_not_match(sim: Sim, provider: NuonuoProvider):
    management, parking = line(10600), line(2180, **PARKING)
    blue = issued(provider, order(management, parking))
    with pytest.raises(InvoiceRejected, match="own order"):
        provider.red_letter(red(blue, parking, management))


def test_a_red_letter_waits_while_the_buyer_must_confirm_the_form(sim: Sim, provider: NuonuoProvider):
    blue = issued(provider, order())
    sim.control(red_form_status="02")
    request = red(blue)

    waiting = provider.red_letter(request)

    assert waiting.status is InvoiceStatus.ISSUING and waiting.red and "02" in waiting.reason
    assert provider.query(request.order_no).status is InvoiceStatus.NOT_FOUND  # no red invoice yet
    sim.control(confirm_red_forms=True)
    assert provider.red_letter(request).status is InvoiceStatus.ACCEPTED  # the same request, asked again
    assert wait_final(provider, request.order_no).status is InvoiceStatus.ISSUED


def test_a_red_letter_names_an_invoice_that_was_issued(sim: Sim, provider: NuonuoProvider):
    blue = issued(provider, order())
    wrong_number = RedLetterRequest(order_no("R"), "2" * 20, blue.order_no, RedLetterReason.WRONG)
    with pytest.raises(InvoiceRejected):
        provider.red_letter(wrong_number)
    never_issued = RedLetterRequest(order_no("R"), blue.invoice_no, order_no("NONE"), RedLetterReason.WRONG)
    with pytest.raises(InvoiceRejected):
        provider.red_letter(never_issued)
