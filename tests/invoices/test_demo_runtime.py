"""`kiosk demo` turns invoicing on against the tax provider simulator; a bad tax table stops invoicing alone."""
from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from kiosk.domain.terms import PaymentMethod
from kiosk.errors import InvoicingOff, TaxTableMissingRow
from kiosk.invoices import titles
from kiosk.invoices.sender import Outcome
from kiosk.invoices.states import InvoiceState
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Bill, Card
from kiosk.services import payments
from tests.support.demo_site import seeded_site, start_demo

from .conftest import COMPANY, wait_for

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _pay_one_bill(rt, factory):
    with unit_of_work(factory) as s:
        card = s.scalars(select(Card).where(Card.status == "active").order_by(Card.id)).first()
        bill = s.scalars(select(Bill).where(Bill.household_id == card.household_id, Bill.status == "open")
                         .order_by(Bill.id)).first()
    return payments.pay_bills(factory, rt.till, key=f"demo-{bill.id}", household_id=card.household_id,
                              bill_ids=[bill.id], method=PaymentMethod.CARD,
                              card_id=card.id, language="zh_Hans")


def test_the_demo_issues_an_invoice_through_the_simulator_and_says_so_on_the_bus(engine, factory, db_url, tmp_path):
    settings, db, _till, _report = seeded_site(engine, factory, db_url, tmp_path / "data", households=4)
    rt, sims = start_demo(settings, db)
    try:
        assert rt.invoicing.available and "tax" in sims.urls and rt.invoicing.workers
        seen: list[Outcome] = []
        rt.bus.subscribe(Outcome, seen.append)
        paid = _pay_one_bill(rt, factory)
        assert rt.invoicing.offer(paid.receipt_number).can_request
        view = rt.invoicing.request(paid.receipt_number, buyer=titles.make_buyer("company", *COMPANY),
                                    actor="kiosk:K01")
        done = wait_for(lambda: (v := rt.invoicing.get(view.request_id)).state is InvoiceState.ISSUED and v, 20)
        assert done and done.pdf_url.startswith(sims.urls["tax"])
        assert [o.state for o in seen][-1] == "issued"
        household = rt.invoicing.household_invoices(_household_of(factory, paid.payment_id))
        assert [h.invoice_no for h in household] == [done.invoice_no] and household[0].buyer_masked == "上海****公司"
    finally:
        rt.stop()


def _household_of(factory, payment_id):
    from kiosk.persistence.models import Payment

    with unit_of_work(factory) as s:
        return s.get(Payment, payment_id).household_id


def test_a_missing_tax_row_stops_invoicing_alone_and_payments_go_on(engine, factory, db_url, tmp_path):
    from kiosk.app_runtime.demo import demo_invoices

    settings, db, _till, _report = seeded_site(engine, factory, db_url, tmp_path / "data", households=4)
    table = {k: v for k, v in demo_invoices()["tax"].items() if k != "parking"}
    rt, _sims = start_demo(replace(settings, invoices=replace(settings.invoices, tax=table)), db)
    try:
        assert not rt.invoicing.available and isinstance(rt.invoicing.error, TaxTableMissingRow)
        assert "parking" in rt.invoicing.error.user_message("zh_Hans")
        paid = _pay_one_bill(rt, factory)
        assert paid.receipt_number
        with pytest.raises(InvoicingOff):
            rt.invoicing.offer(paid.receipt_number)
    finally:
        rt.stop()
