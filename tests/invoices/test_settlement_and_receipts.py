"""Settlement shows invoiced, pending and red-lettered totals; reconciliation puts every paid receipt in one
status; the receipt prints the invoice's QR and "发票开具中"."""
from __future__ import annotations

import csv
import io

from kiosk.domain import site_clock
from kiosk.invoices import reconcile
from kiosk.invoices.states import InvoiceState
from kiosk.persistence.db import unit_of_work
from kiosk.services import print_queue, settlement, voids

from .conftest import drain, view


def _today():
    return site_clock.site_today()


def test_settlement_shows_invoice_totals_beside_the_payments(factory, paying, provider):
    issued = paying.bills(count=1)
    pending = paying.bills(count=1)
    reversed_ = paying.bills(count=1)
    paying.bills(household=1, count=1)  # nobody asked for an invoice
    a, c = paying.invoice(issued.receipt_number), paying.invoice(reversed_.receipt_number)
    drain(provider, factory)
    with unit_of_work(factory) as s:
        voids.void_receipt(s, paying.mini.till, number=reversed_.receipt_number, reason="wrong", actor="staff:s",
                           language="en")
    drain(provider, factory)
    b = paying.invoice(pending.receipt_number)  # queued, not sent yet
    with unit_of_work(factory) as s:
        report = settlement.daily_settlement(s, paying.mini.till.site_id, _today())
        number, doc = settlement.settlement_slip(s, paying.mini.till, report, language="en", actor="staff:s")
    inv = report.invoices
    assert (inv.invoiced_count, inv.invoiced_fen) == (2, a.total_fen + c.total_fen)  # the reversed one was issued
    assert (inv.pending_count, inv.pending_fen) == (1, b.total_fen)
    assert (inv.red_count, inv.red_fen) == (1, c.total_fen)
    fields = dict(doc.fields)
    assert fields["Invoices issued"] == f"2 / {(a.total_fen + c.total_fen) / 100:.2f}"
    assert fields["Red-letter invoices"] == f"1 / {c.total_fen / 100:.2f}"
    rows = {r["record"]: r for r in csv.DictReader(io.StringIO(settlement.to_csv(report)))}
    assert int(rows["total_invoice_pending"]["amount_fen"]) == b.total_fen
    assert int(rows["total_red_letter"]["amount_fen"]) == c.total_fen


def test_a_day_without_invoices_prints_the_slip_as_before(factory, paying):
    paying.bills(count=1)
    with unit_of_work(factory) as s:
        report = settlement.daily_settlement(s, paying.mini.till.site_id, _today())
        _, doc = settlement.settlement_slip(s, paying.mini.till, report, language="en", actor="staff:s")
    assert not report.invoices.any and not [f for f in doc.fields if "nvoice" in f[0]]


def test_reconciliation_puts_every_paid_receipt_in_one_status(factory, paying, provider, table):
    invoiced = paying.bills(count=1)
    pending = paying.bills(count=1)
    failed = paying.bills(count=1)
    voided = paying.bills(household=1, count=1)
    plain = paying.bills(household=1, count=1)
    paying.invoice(invoiced.receipt_number)
    paying.invoice(voided.receipt_number)
    provider.fail_next = ""
    drain(provider, factory)
    provider.fail_next = "购方名称与税号不符"
    f = paying.invoice(failed.receipt_number)
    drain(provider, factory)
    assert view(factory, f.request_id).state is InvoiceState.FAILED
    with unit_of_work(factory) as s:
        voids.void_receipt(s, paying.mini.till, number=voided.receipt_number, reason="wrong", actor="staff:s",
                           language="en")
    drain(provider, factory)
    paying.invoice(pending.receipt_number)
    with unit_of_work(factory) as s:
        numbers = reconcile.order_numbers(s, paying.mini.till.site_id, _today(), site_clock.DEFAULT_ZONE)
    answers = reconcile.ask_provider(provider, numbers)
    with unit_of_work(factory) as s:
        report = reconcile.reconcile(s, paying.mini.till.site_id, _today(), site_clock.DEFAULT_ZONE, table, answers)
    status = {line.receipt_number: (line.status, line.note) for line in report.lines}
    assert status[invoiced.receipt_number] == ("invoiced", "")
    assert status[voided.receipt_number] == ("invoiced", "reversed by red letter")
    assert status[pending.receipt_number][0] == "pending"
    assert status[failed.receipt_number][0] == "flagged" and "购方名称与税号不符" in status[failed.receipt_number][1]
    assert status[plain.receipt_number] == ("not_requested", "")
    assert report.counts == {"invoiced": 2, "pending": 1, "not_requested": 1, "flagged": 1}
    rows = list(csv.DictReader(io.StringIO(reconcile.to_csv(report))))
    assert [r["status"] for r in rows] == [line.status for line in report.lines]


def test_reconciliation_flags_an_invoice_the_provider_does_not_hold(factory, paying, provider, table):
    paid = paying.bills(count=1)
    invoice = paying.invoice(paid.receipt_number)
    drain(provider, factory)
    del provider.orders[invoice.order_no]  # the provider's records lost it (or ours were edited)
    with unit_of_work(factory) as s:
        numbers = reconcile.order_numbers(s, paying.mini.till.site_id, _today(), site_clock.DEFAULT_ZONE)
    answers = reconcile.ask_provider(provider, numbers)
    with unit_of_work(factory) as s:
        report = reconcile.reconcile(s, paying.mini.till.site_id, _today(), site_clock.DEFAULT_ZONE, table, answers)
    [line] = report.lines
    assert line.status == "flagged" and "not_found" in line.note


def test_the_receipt_prints_the_invoice_qr_and_being_issued_then_its_number(factory, paying, provider):
    paid = paying.bills(count=1)
    with unit_of_work(factory) as s:
        [job] = print_queue.queued_jobs(s, paying.mini.till.kiosk_id)
    assert "Invoice being issued" not in job.document.notes  # no invoice asked: the receipt as it was
    invoice = paying.invoice(paid.receipt_number)  # asked before the receipt printed
    with unit_of_work(factory) as s:
        [job] = print_queue.queued_jobs(s, paying.mini.till.kiosk_id)
    doc = print_queue.printable_document(job)
    assert "Invoice being issued" in doc.notes and doc.qr_url == ""  # the mini estate has no QR template
    with unit_of_work(factory) as s:
        from kiosk.invoices import requests, titles

        other = paying.bills(household=1, count=1)
        requests.request_invoice(s, site_id=paying.mini.till.site_id, receipt_number=other.receipt_number,
                                 buyer=titles.make_buyer("personal", "张三"), table=paying.table, actor="kiosk:K01",
                                 receipt_qr_template="https://estate.example.cn/e-invoice/{order_no}")
    with unit_of_work(factory) as s:
        jobs = print_queue.queued_jobs(s, paying.mini.till.kiosk_id)
    zh = [j for j in jobs if j.receipt_number == other.receipt_number][0].document
    assert zh.qr_url.startswith("https://estate.example.cn/e-invoice/HY")
    drain(provider, factory)
    with unit_of_work(factory) as s:
        [job] = [j for j in print_queue.queued_jobs(s, paying.mini.till.kiosk_id)
                 if j.receipt_number == paid.receipt_number]
    done = view(factory, invoice.request_id)
    assert f"Invoice issued, No. {done.invoice_no}" in job.document.notes


def test_the_invoice_line_is_printed_in_the_receipts_language(factory, mini, table):
    from kiosk.domain.terms import PaymentMethod
    from kiosk.invoices import receipt_marks, titles
    from kiosk.invoices.requests import request_invoice
    from kiosk.services import payments, receipts

    hh = mini.household_ids[0]
    paid = payments.pay_bills(factory, mini.till, key="zh", household_id=hh, bill_ids=mini.bill_ids[hh][:1],
                              method=PaymentMethod.CARD, card_id=mini.card_ids[hh], language="zh_Hant")
    with unit_of_work(factory) as s:
        request_invoice(s, site_id=mini.till.site_id, receipt_number=paid.receipt_number,
                        buyer=titles.make_buyer("personal", "陳大文"), table=table, actor="kiosk:K01")
        receipt = receipts.find(s, mini.till.site_id, int(paid.receipt_number))
        doc = receipt_marks.marked(s, receipt.id, receipts.document(receipt))
    assert "發票開具中" in doc.notes
