"""The staff invoice calls the screens make (RuntimeKioskServices over Invoicing), on the demo runtime against the
tax provider simulator process: a failed request retried with the title corrected on the phone form, and a void
whose red-letter reason staff picked reaches the provider as that reason."""
from __future__ import annotations

import json
import urllib.request
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from kiosk.domain.terms import PaymentMethod
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Bill, Card
from kiosk.services import payments
from tests.support.demo_site import seeded_site, start_demo

from .conftest import COMPANY, wait_for

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
FIXED = ("深圳市腾讯计算机系统有限公司", "9144030071526726XG")


def _post(url: str, data: bytes, content_type: str) -> dict:
    request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=5) as response:
        body = response.read()
    try:
        return json.loads(body)
    except ValueError:
        return {}


def _sim_state(base: str) -> dict:
    with urllib.request.urlopen(f"{base}/sim/state", timeout=5) as response:
        return json.loads(response.read())


def test_staff_retry_a_failed_invoice_with_a_corrected_title_then_void_it_with_their_red_letter_reason(
        engine, factory, db_url, tmp_path):
    settings, db, _till, _report = seeded_site(engine, factory, db_url, tmp_path / "data", households=4)
    rt, sims = start_demo(settings, db)
    tax = sims.urls["tax"]
    try:
        svc = rt.services
        with unit_of_work(factory) as s:
            card = s.scalars(select(Card).where(Card.status == "active").order_by(Card.id)).first()
            bill = s.scalars(select(Bill).where(Bill.household_id == card.household_id, Bill.status == "open")
                             .order_by(Bill.id)).first()
            hh, amount = str(card.household_id), bill.amount_fen
        paid = payments.pay_bills(factory, rt.till, key=f"staff-{bill.id}", household_id=int(hh),
                                  bill_ids=[bill.id], method=PaymentMethod.CARD, card_id=card.id, language="zh_Hans")
        number = str(paid.receipt_number)
        _post(f"{tax}/sim/control", json.dumps({"unregistered_tax_ids": [COMPANY[1]]}).encode(), "application/json")
        form = svc.open_invoice_form(120)
        _post(form.url, urlencode({"kind": "company", "name": COMPANY[0], "tax_id": COMPANY[1]}).encode(),
              "application/x-www-form-urlencoded")
        svc.request_invoice(hh, number, title=svc.read_invoice_title(form.session_id))
        who = svc.staff_sign_in("246810")
        failed = wait_for(lambda: next(iter(svc.staff_invoices(who.staff_id, "failed")), None), 20)
        assert failed and failed.failure_reason and failed.household_id == hh
        _post(f"{tax}/sim/control", json.dumps({"unregistered_tax_ids": []}).encode(), "application/json")

        form = svc.open_invoice_form(120)  # staff correct the title on the phone form
        _post(form.url, urlencode({"kind": "company", "name": FIXED[0], "tax_id": FIXED[1]}).encode(),
              "application/x-www-form-urlencoded")
        again = svc.retry_invoice(who.staff_id, failed.request_id, title=svc.read_invoice_title(form.session_id))
        assert again.state == "queued" and again.buyer_masked.startswith("深圳")
        issued = wait_for(lambda: next(iter(svc.staff_invoices(who.staff_id, "issued")), None), 20)
        assert issued and issued.request_id == failed.request_id
        assert svc.receipt_invoice(who.staff_id, number).state == "issued"

        svc.void_receipt(who.staff_id, number, "Customer asked to cancel", invoice_reason="1")
        reversed_ = wait_for(lambda: next(iter(svc.staff_invoices(who.staff_id, "red_lettered")), None), 20)
        assert reversed_ and reversed_.red_fen == amount
        state = _sim_state(tax)
        assert list(state["red_reasons"].values()) == ["1"]  # 退货, as staff picked it
        assert sorted(state["orders"].values()).count("2") == 2  # the corrected blue invoice and its red letter
    finally:
        rt.stop()
