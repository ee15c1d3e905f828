"""Re-sending an issued invoice (kiosk.invoices.delivery through Invoicing.resend) on both databases, through our
Nuonuo adapter to the simulator process: sent and recorded once (the number masked in our records), a bad phone
refused before anything is sent, the provider down -> one translated line and nothing recorded, three a day, only
an issued invoice of the resident's own household."""
from __future__ import annotations

import json
import urllib.request

import pytest
from sqlalchemy import select

from kiosk.errors import (InvoiceNotSent, InvoicePhoneInvalid, InvoiceResendLimit, InvoiceWrongState, NotFound)
from kiosk.invoices.service import Invoicing
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import InvoiceAnswer
from kiosk.settings import load

from .conftest import ROOT, drain, view


def _invoicing(factory, mini, nuonuo, table, tmp_path) -> Invoicing:
    settings = load(tmp_path / "cfg", str(ROOT / "config" / "demo-invoices.toml"), with_secrets=False).invoices
    return Invoicing(settings, factory, mini.till, nuonuo, table=table)


def _issued(paying, nuonuo, factory, sim):
    sim.control(delay_s=0)
    queued = paying.invoice(paying.bills(count=1).receipt_number)
    drain(nuonuo, factory)
    done = view(factory, queued.request_id)
    assert done.state == "issued", done
    return done


def _delivered(sim, invoice_no: str) -> list[dict]:
    with urllib.request.urlopen(f"{sim.url}/sim/deliveries", timeout=5) as response:
        return [d for d in json.loads(response.read()) if d["invoice_no"] == invoice_no]


def _recorded(factory, request_id: int) -> list[tuple[str, str]]:
    with unit_of_work(factory) as s:
        return [(a.outcome, a.detail) for a in s.scalars(select(InvoiceAnswer).where(
            InvoiceAnswer.request_id == request_id, InvoiceAnswer.call == "deliver").order_by(InvoiceAnswer.id))]


def test_an_issued_invoice_is_re_sent_once_and_recorded_masked(factory, mini, paying, nuonuo, sim, table, tmp_path):
    invoicing = _invoicing(factory, mini, nuonuo, table, tmp_path)
    issued = _issued(paying, nuonuo, factory, sim)

    sent = invoicing.resend(actor="kiosk:K01", request_id=issued.request_id, phone="138 0013 8000",
                            household_id=mini.household_ids[0])

    assert (sent.invoice_no, sent.channel, sent.address_masked, sent.left_today) == \
        (issued.invoice_no, "sms", "138****8000", 2)
    assert [(d["phone"], d["mail"]) for d in _delivered(sim, issued.invoice_no)] == [("13800138000", "")]
    assert _recorded(factory, issued.request_id) == [("sent", "sms 138****8000")]  # never the whole number
    by_mail = invoicing.resend(actor="cli:office", invoice_no=issued.invoice_no, email="li.si@example.cn")
    assert by_mail.address_masked == "l***@example.cn" and by_mail.left_today == 1
    assert [d["mail"] for d in _delivered(sim, issued.invoice_no)] == ["", "li.si@example.cn"]


def test_a_bad_phone_is_refused_before_anything_is_sent(factory, mini, paying, nuonuo, sim, table, tmp_path):
    invoicing = _invoicing(factory, mini, nuonuo, table, tmp_path)
    issued = _issued(paying, nuonuo, factory, sim)
    with pytest.raises(InvoicePhoneInvalid) as refused:
        invoicing.resend(actor="kiosk:K01", request_id=issued.request_id, phone="12345678901")
    assert refused.value.user_message("zh_Hant") == "12345678901 不是有效的手機號碼，請檢查。"
    assert _delivered(sim, issued.invoice_no) == [] and _recorded(factory, issued.request_id) == []


def test_the_provider_down_is_one_line_and_nothing_is_recorded_twice(factory, mini, paying, nuonuo, sim, table,
                                                                     tmp_path):
    invoicing = _invoicing(factory, mini, nuonuo, table, tmp_path)
    issued = _issued(paying, nuonuo, factory, sim)
    sim.control(outage="503")
    with pytest.raises(InvoiceNotSent) as refused:
        invoicing.resend(actor="kiosk:K01", request_id=issued.request_id, phone="13800138000")
    assert refused.value.code == "E9133"
    assert refused.value.user_message("en") == ("The invoice could not be sent right now. Nothing was sent; please "
                                                "try again later.")
    assert _recorded(factory, issued.request_id) == []  # the day's limit is not spent either
    sim.control(outage=False)
    invoicing.resend(actor="kiosk:K01", request_id=issued.request_id, phone="13800138000")
    assert len(_delivered(sim, issued.invoice_no)) == 1 and _recorded(factory, issued.request_id) == [
        ("sent", "sms 138****8000")]


def test_three_re_sends_a_day_then_the_limit(factory, mini, paying, nuonuo, sim, table, tmp_path):
    invoicing = _invoicing(factory, mini, nuonuo, table, tmp_path)
    issued = _issued(paying, nuonuo, factory, sim)
    for _ in range(3):
        invoicing.resend(actor="kiosk:K01", request_id=issued.request_id, phone="13800138000")
    with pytest.raises(InvoiceResendLimit) as refused:
        invoicing.resend(actor="kiosk:K01", request_id=issued.request_id, phone="13900139000")
    assert refused.value.user_message("zh_Hans") == "这张发票今天已发送 3 次，请明天再试。"
    assert len(_delivered(sim, issued.invoice_no)) == 3


def test_only_an_issued_invoice_of_the_households_own_is_re_sent(factory, mini, paying, nuonuo, sim, table, tmp_path):
    invoicing = _invoicing(factory, mini, nuonuo, table, tmp_path)
    issued = _issued(paying, nuonuo, factory, sim)
    with pytest.raises(NotFound):
        invoicing.resend(actor="kiosk:K02", request_id=issued.request_id, phone="13800138000",
                         household_id=mini.household_ids[1])
    queued = paying.invoice(paying.bills(count=1).receipt_number)
    with pytest.raises(InvoiceWrongState):
        invoicing.resend(actor="kiosk:K01", request_id=queued.request_id, phone="13800138000")
    assert _delivered(sim, issued.invoice_no) == []
