"""The invoice calls the screens make (RuntimeKioskServices over Invoicing), on the demo runtime against the tax
provider simulator process: offer, the phone form filled over plain HTTP, request, My records until issued, the
staff list and a red letter."""
from __future__ import annotations

import urllib.request
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from kiosk.errors import InvoiceAlreadyRequested
from kiosk.domain.terms import PaymentMethod
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Bill, Card
from kiosk.services import payments
from tests.support.demo_site import seeded_site, start_demo

from .conftest import COMPANY, wait_for

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _fill(url: str, **fields: str) -> int:
    request = urllib.request.Request(url, data=urlencode(fields).encode(), method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status


def test_a_company_invoice_from_the_phone_form_is_issued_listed_and_red_lettered(engine, factory, db_url, tmp_path):
    settings, db, _till, _report = seeded_site(engine, factory, db_url, tmp_path / "data", households=4)
    rt, _sims = start_demo(settings, db)
    try:
        svc = rt.services
        with unit_of_work(factory) as s:  # paid as the kiosk's ledger pays it (the card's value needs no reader here)
            card = s.scalars(select(Card).where(Card.status == "active").order_by(Card.id)).first()
            bill = s.scalars(select(Bill).where(Bill.household_id == card.household_id, Bill.status == "open")
                             .order_by(Bill.id)).first()
            hh, amount = str(card.household_id), bill.amount_fen
        paid = payments.pay_bills(factory, rt.till, key=f"screens-{bill.id}", household_id=int(hh),
                                  bill_ids=[bill.id], method=PaymentMethod.CARD, card_id=card.id, language="zh_Hans")
        offer = svc.invoice_offer(str(str(paid.receipt_number)))
        assert offer.can_request and offer.invoiceable_fen == amount and not offer.unavailable
        assert svc.invoice_titles(hh) == ()

        form = svc.open_invoice_form(120)
        assert 100 <= form.expires_in_s <= 120 and svc.read_invoice_title(form.session_id) is None
        assert _fill(form.url, kind="company", name=COMPANY[0], tax_id=COMPANY[1].lower()) == 200
        title = svc.read_invoice_title(form.session_id)
        assert (title.kind, title.name, title.tax_id) == ("company", COMPANY[0], COMPANY[1])

        queued = svc.request_invoice(hh, str(paid.receipt_number), title=title)
        assert queued.buyer_masked == "上海****公司" and queued.total_fen == amount
        with pytest.raises(InvoiceAlreadyRequested):
            svc.request_invoice(hh, str(paid.receipt_number), title=title)
        issued = wait_for(lambda: next((i for i in svc.household_invoices(hh) if i.state == "issued"), None), 20)
        assert issued and len(issued.invoice_no) == 20 and issued.qr_payload.startswith(_sims.urls["tax"])
        assert not svc.invoice_offer(str(paid.receipt_number)).can_request
        (saved,) = svc.invoice_titles(hh)
        assert (saved.name_masked, saved.tax_id_masked) == ("上海****公司", "9135**********0Y43")

        who = svc.staff_sign_in("246810")
        assert [i.request_id for i in svc.staff_invoices(who.staff_id, "issued")] == [issued.request_id]
        svc.red_letter_invoice(who.staff_id, issued.request_id, "2")
        reversed_ = wait_for(lambda: next((i for i in svc.household_invoices(hh) if i.state == "red_lettered"), None),
                             20)
        assert reversed_ and reversed_.red_fen == amount
    finally:
        rt.stop()
