"""Re-sending an issued invoice (Nuonuo's deliveryInvoice) through the adapter to the simulator process: sent and
recorded once, a bad phone or e-mail refused with the provider's answer mapped to its own error, an invoice not
issued refused, the provider down -> unreachable with nothing recorded, a bad signature refused."""
from __future__ import annotations

import pytest

from devices.tax.nuonuo import NuonuoProvider
from kiosk.errors import (InvoiceEmailInvalid, InvoicePhoneInvalid, InvoiceProviderUnreachable, InvoiceRejected,
                          InvoiceSignatureRejected)
from kiosk.ports import InvoiceStatus
from tests.invoicing.conftest import Sim, order, wait_final


def _issued(provider: NuonuoProvider) -> str:
    sent = order()
    provider.request_invoice(sent)
    result = wait_final(provider, sent.order_no)
    assert result.status is InvoiceStatus.ISSUED
    return result.invoice_no


def _mine(sim: Sim, invoice_no: str) -> list[dict]:
    return [d for d in sim.deliveries() if d["invoice_no"] == invoice_no]


def test_an_issued_invoice_is_re_sent_to_a_phone_and_an_email_and_recorded_once(sim: Sim, provider: NuonuoProvider):
    number = _issued(provider)

    provider.deliver(number, phone="13800138000")
    provider.deliver(number, email="zhang.san@example.cn")

    sent = _mine(sim, number)
    assert [(d["phone"], d["mail"]) for d in sent] == [("13800138000", ""), ("", "zhang.san@example.cn")]


@pytest.mark.parametrize("phone", ["12345", "23800138000", "1380013800a", "138001380001"])
def test_a_bad_phone_is_refused_by_the_provider_and_nothing_is_sent(sim: Sim, provider: NuonuoProvider, phone):
    number = _issued(provider)
    with pytest.raises(InvoicePhoneInvalid) as refused:
        provider.deliver(number, phone=phone)
    assert refused.value.code == "E9130" and phone in refused.value.user_message("en")
    assert _mine(sim, number) == []


def test_a_bad_email_is_refused_by_the_provider(sim: Sim, provider: NuonuoProvider):
    number = _issued(provider)
    with pytest.raises(InvoiceEmailInvalid) as refused:
        provider.deliver(number, email="not-an-address@")
    assert "not-an-address@" in refused.value.user_message("zh_Hans")
    assert _mine(sim, number) == []


def test_a_number_the_provider_has_not_issued_cannot_be_re_sent(sim: Sim, provider: NuonuoProvider):
    with pytest.raises(InvoiceRejected) as refused:
        provider.deliver("26312000000000999999", phone="13800138000")
    assert refused.value.provider_code == "E9303" and "26312000000000999999" in refused.value.params["reason"]


def test_the_provider_down_is_unreachable_and_nothing_is_recorded_twice(sim: Sim, provider: NuonuoProvider):
    number = _issued(provider)
    sim.control(outage="503")
    with pytest.raises(InvoiceProviderUnreachable):
        provider.deliver(number, phone="13900139000")
    sim.control(outage="drop")
    with pytest.raises(InvoiceProviderUnreachable):
        provider.deliver(number, phone="13900139000")
    sim.control(outage=False)
    assert _mine(sim, number) == []
    provider.deliver(number, phone="13900139000")
    assert [d["phone"] for d in _mine(sim, number)] == ["13900139000"]


def test_a_wrong_secret_is_refused_as_a_signature_problem(sim: Sim, provider: NuonuoProvider, make_provider):
    number = _issued(provider)
    forged = make_provider(app_secret="not-the-secret-at-all-0000000000")
    forged._tokens.save(provider._tokens.load())  # the same token, a wrong signature
    with pytest.raises(InvoiceSignatureRejected):
        forged.deliver(number, phone="13800138000")
    assert _mine(sim, number) == []
