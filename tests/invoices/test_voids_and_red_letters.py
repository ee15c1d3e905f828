"""A void of a paid receipt takes its invoice with it: cancelled before issue, red-lettered after, with a reason
code and the staff identity; a partial reversal covers only its lines, in the original order."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from kiosk.errors import InvalidEntry, InvoiceWrongState
from kiosk.invoices import red_letters, requests
from kiosk.invoices.sender import blue_order, red_request
from kiosk.invoices.states import InvoiceState
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import RedLetter
from kiosk.ports import RedLetterReason
from kiosk.services import voids
from tests.services.helpers import audit_actions

from .conftest import drain, view


def _void(factory, paying, number, actor="staff:王芳", invoice_reason="3"):
    with unit_of_work(factory) as s:
        return voids.void_receipt(s, paying.mini.till, number=number, reason="charged twice", actor=actor,
                                  language="en", invoice_reason=invoice_reason)


def test_a_void_before_the_invoice_was_sent_cancels_the_request(factory, paying, provider):
    paid = paying.bills()
    invoice = paying.invoice(paid.receipt_number)
    _void(factory, paying, paid.receipt_number)
    assert view(factory, invoice.request_id).state is InvoiceState.CANCELLED
    drain(provider, factory)
    assert provider.sends == {} and "invoice.cancelled" in audit_actions(factory)


def test_a_void_after_the_invoice_issued_files_a_red_letter_with_the_reason_and_the_staff(factory, paying, provider):
    paid = paying.bills(count=2)
    invoice = paying.invoice(paid.receipt_number)
    drain(provider, factory)
    _void(factory, paying, paid.receipt_number, actor="staff:王芳", invoice_reason="1")
    pending = view(factory, invoice.request_id)
    assert pending.state is InvoiceState.ISSUED
    [red] = pending.red_letters
    assert (red.reason, red.requested_by, red.total_fen, red.positions) == ("1", "staff:王芳", paid.amount_fen, (1, 2))
    with unit_of_work(factory) as s:
        sent = red_request(s, red.red_id)
        assert s.get(RedLetter, red.red_id).void_receipt_id is not None
    assert sent.lines == () and sent.original_invoice_no == pending.invoice_no  # whole invoice
    assert sent.reason is RedLetterReason.RETURN
    drain(provider, factory)
    done = view(factory, invoice.request_id)
    assert done.state is InvoiceState.RED_LETTERED and done.red_letters[0].state == "issued"
    assert len(done.red_letters[0].invoice_no) == 20 and done.red_fen == paid.amount_fen
    assert provider.sends == {invoice.order_no: 1, red.order_no: 1}


def test_a_void_while_the_provider_holds_the_order_reverses_it_once_issued(factory, paying, provider):
    provider.delay_s = 3600
    paid = paying.bills()
    invoice = paying.invoice(paid.receipt_number)
    drain(provider, factory)
    assert view(factory, invoice.request_id).state is InvoiceState.ISSUING
    _void(factory, paying, paid.receipt_number)
    held = view(factory, invoice.request_id)
    assert held.state is InvoiceState.ISSUING and held.reversal_pending and held.red_letters == ()
    provider.delay_s = 0
    drain(provider, factory)
    done = view(factory, invoice.request_id)
    assert done.state is InvoiceState.RED_LETTERED and done.red_letters[0].requested_by == "staff:王芳"


def test_a_void_while_held_and_then_failed_by_the_provider_is_cancelled(factory, paying, provider):
    provider.delay_s = 3600
    provider.fail_next = "购方税号校验失败"
    paid = paying.bills()
    invoice = paying.invoice(paid.receipt_number)
    drain(provider, factory)
    _void(factory, paying, paid.receipt_number)
    provider.delay_s = 0
    drain(provider, factory)
    assert view(factory, invoice.request_id).state is InvoiceState.CANCELLED


def test_a_partial_red_letter_reverses_only_its_lines_in_the_original_order(factory, paying, provider):
    paid = paying.bills(count=3)
    invoice = paying.invoice(paid.receipt_number)
    drain(provider, factory)
    with unit_of_work(factory) as s:
        request = requests.get(s, invoice.request_id)
        red = red_letters.file_red_letter(s, request, reason=RedLetterReason.DISCOUNT, actor="staff:王芳",
                                          positions=[3, 1])
        sent = red_request(s, red.id)
        blue = blue_order(s, invoice.request_id)
    assert [line.fee_kind for line in sent.lines] == [blue.lines[0].fee_kind, blue.lines[2].fee_kind]
    assert [line.tax_included_fen for line in sent.lines] == [blue.lines[0].tax_included_fen,
                                                              blue.lines[2].tax_included_fen]
    drain(provider, factory)
    assert view(factory, invoice.request_id).state is InvoiceState.ISSUED  # line 2 still stands
    with unit_of_work(factory) as s, pytest.raises(InvoiceWrongState):
        red_letters.file_red_letter(s, requests.get(s, invoice.request_id), reason=RedLetterReason.RETURN,
                                    actor="staff:王芳", positions=[1])
    _void(factory, paying, paid.receipt_number)  # the void reverses what is left: line 2
    with unit_of_work(factory) as s:
        last = s.scalars(select(RedLetter).order_by(RedLetter.id.desc())).first()
        assert [line.tax_included_fen for line in red_request(s, last.id).lines] == [blue.lines[1].tax_included_fen]
    drain(provider, factory)
    done = view(factory, invoice.request_id)
    assert done.state is InvoiceState.RED_LETTERED and [r.positions for r in done.red_letters] == [(1, 3), (2,)]
    assert done.red_fen == paid.amount_fen


def test_a_red_letter_needs_an_issued_invoice_and_a_known_reason_and_line(factory, paying, provider):
    invoice = paying.invoice(paying.bills().receipt_number)
    with unit_of_work(factory) as s, pytest.raises(InvoiceWrongState):
        red_letters.file_red_letter(s, requests.get(s, invoice.request_id), reason=RedLetterReason.RETURN,
                                    actor="staff:王芳")
    with pytest.raises(InvalidEntry):
        red_letters.parse_reason("5")
    drain(provider, factory)
    with unit_of_work(factory) as s, pytest.raises(InvalidEntry):
        red_letters.file_red_letter(s, requests.get(s, invoice.request_id), reason=RedLetterReason.RETURN,
                                    actor="staff:王芳", positions=[9])


def test_a_void_with_an_unknown_invoice_reason_changes_nothing(factory, paying, provider):
    paid = paying.bills()
    paying.invoice(paid.receipt_number)
    with pytest.raises(InvalidEntry):
        _void(factory, paying, paid.receipt_number, invoice_reason="9")
    with unit_of_work(factory) as s:
        from kiosk.services import receipts

        assert not receipts.find(s, paying.mini.till.site_id, int(paid.receipt_number)).voided


def test_voids_of_receipts_without_an_invoice_are_unchanged(factory, paying):
    paid = paying.bills()
    result = _void(factory, paying, paid.receipt_number)
    assert result.amount_fen == paid.amount_fen
