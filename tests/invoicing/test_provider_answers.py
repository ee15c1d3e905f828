"""The Nuonuo adapter against the simulator process: every answer an order can get, mapped to the port."""
from __future__ import annotations

import time
import urllib.request

import pytest

from devices.tax.nuonuo import NuonuoProvider
from kiosk.errors import InvoiceRateLimited, InvoiceRejected
from kiosk.ports import BuyerKind, InvoiceBuyer, InvoiceStatus, TaxPolicy
from tests.invoicing.conftest import COMPANY, Sim, line, order, order_no, wait_final


def test_an_order_is_accepted_then_issuing_then_issued_with_number_qr_and_pdf(sim: Sim, provider: NuonuoProvider):
    sent = order(line(10600), line(2180, fee_kind="parking", goods_name="停车服务", tax_code="3040502020100000000",
                                   rate_permille=90))
    accepted = provider.request_invoice(sent)
    assert accepted.status is InvoiceStatus.ACCEPTED and accepted.serial_no
    assert provider.query(sent.order_no).status is InvoiceStatus.ISSUING  # the simulator's delay is running

    issued = wait_final(provider, sent.order_no)

    assert issued.status is InvoiceStatus.ISSUED
    assert len(issued.invoice_no) == 20 and issued.invoice_no.isdigit()
    assert issued.invoice_no in issued.qr_payload and issued.issued_at is not None
    assert issued.total_fen == 10600 + 2180 and not issued.red
    with urllib.request.urlopen(issued.pdf_url, timeout=5) as response:
        assert response.headers["Content-Type"] == "application/pdf"
        assert response.read().startswith(b"%PDF-")


def test_a_personal_invoice_needs_no_tax_id_and_can_be_pushed(sim: Sim, provider: NuonuoProvider):
    buyer = InvoiceBuyer(BuyerKind.PERSONAL, "张三", phone="13800138000", email="zhang@example.cn")
    sent = order(buyer=buyer)
    provider.request_invoice(sent)
    assert wait_final(provider, sent.order_no).status is InvoiceStatus.ISSUED


def test_the_same_order_number_twice_is_a_duplicate_and_stays_one_invoice(sim: Sim, provider: NuonuoProvider):
    sent = order()
    assert provider.request_invoice(sent).status is InvoiceStatus.ACCEPTED
    before = sim.state()["duplicates"]

    again = provider.request_invoice(sent)

    assert again.status is InvoiceStatus.DUPLICATE and again.order_no == sent.order_no
    assert sim.state()["duplicates"] == before + 1
    assert list(sim.state()["orders"]).count(sent.order_no) == 1
    assert wait_final(provider, sent.order_no).status is InvoiceStatus.ISSUED


def test_an_order_number_never_sent_is_not_found(sim: Sim, provider: NuonuoProvider):
    assert provider.query(order_no("NEVER")).status is InvoiceStatus.NOT_FOUND


def test_a_buyer_the_bureau_does_not_know_fails_with_the_providers_reason(sim: Sim, provider: NuonuoProvider):
    unknown = "91110108551385082Q"  # a valid check character, but not registered in the simulated bureau
    sim.control(unregistered_tax_ids=[unknown])
    sent = order(buyer=InvoiceBuyer(BuyerKind.COMPANY, "某某科技有限公司", tax_id=unknown))
    assert provider.request_invoice(sent).status is InvoiceStatus.ACCEPTED

    failed = wait_final(provider, sent.order_no)

    assert failed.status is InvoiceStatus.FAILED and failed.final
    assert "纳税人识别号" in failed.reason and not failed.invoice_no


def test_a_buyer_tax_id_with_a_wrong_check_character_is_refused_up_front(sim: Sim, provider: NuonuoProvider):
    sent = order(buyer=InvoiceBuyer(BuyerKind.COMPANY, "某某科技有限公司", tax_id=COMPANY[:-1] + "Y"))
    with pytest.raises(InvoiceRejected) as refused:
        provider.request_invoice(sent)
    assert refused.value.provider_code == "E9103" and "校验失败" in refused.value.params["reason"]
    assert refused.value.code == "E9004" and "E9103" not in refused.value.user_message("en")
    assert provider.query(sent.order_no).status is InvoiceStatus.NOT_FOUND  # nothing was kept


@pytest.mark.parametrize("tax_fen, accepted", [(600 + 6, True), (600 + 7, False), (600 - 7, False)])
def test_tax_is_accepted_within_six_fen_of_excluded_times_rate(sim: Sim, provider: NuonuoProvider, tax_fen, accepted):
    sent = order(line(10600 + (tax_fen - 600), tax_fen=tax_fen))  # excluded stays 100.00 yuan at 6 %
    if accepted:
        assert provider.request_invoice(sent).status is InvoiceStatus.ACCEPTED
    else:
        with pytest.raises(InvoiceRejected) as refused:
            provider.request_invoice(sent)
        assert refused.value.provider_code == "E9102"


def test_a_prepaid_top_up_line_must_be_marked_not_taxable_under_a_six_code(sim: Sim, provider: NuonuoProvider):
    top_up = line(5000, fee_kind="top_up", goods_name="预付卡充值", tax_code="6010000000000000000", rate_permille=0,
                  policy=TaxPolicy.NOT_TAXABLE)
    assert provider.request_invoice(order(top_up)).status is InvoiceStatus.ACCEPTED
    unmarked = line(5000, fee_kind="top_up", goods_name="预付卡充值", tax_code="6010000000000000000", rate_permille=0)
    with pytest.raises(InvoiceRejected, match="免税或不征税"):
        provider.request_invoice(order(unmarked))


def test_a_missing_required_field_is_named_in_the_refusal(sim: Sim, make_provider):
    no_clerk = make_provider(clerk="")
    with pytest.raises(InvoiceRejected) as refused:
        no_clerk.request_invoice(order())
    assert refused.value.provider_code == "E9101" and "clerk" in refused.value.params["reason"]


def test_a_seal_failure_is_reissued_under_the_same_order_and_then_issued(sim: Sim, provider: NuonuoProvider):
    sim.control(seal_failures=1)
    sent = order()
    provider.request_invoice(sent)
    sealed = wait_final(provider, sent.order_no)
    assert sealed.status is InvoiceStatus.SEAL_FAILED and sealed.reason

    assert provider.reissue(sent.order_no).status is InvoiceStatus.ACCEPTED

    issued = wait_final(provider, sent.order_no)
    assert issued.status is InvoiceStatus.ISSUED and issued.serial_no == sealed.serial_no


def test_reissue_stops_at_twenty_a_day_per_order_and_opens_again_the_next_day(sim: Sim, provider: NuonuoProvider):
    sim.control(delay_s=0, seal_failures=100)
    sent = order()
    provider.request_invoice(sent)
    for _ in range(20):
        assert provider.query(sent.order_no).status is InvoiceStatus.SEAL_FAILED
        assert provider.reissue(sent.order_no).status is InvoiceStatus.ACCEPTED
    with pytest.raises(InvoiceRateLimited):
        provider.reissue(sent.order_no)

    sim.control(advance_s=24 * 3600, seal_failures=0)
    assert provider.reissue(sent.order_no).status is InvoiceStatus.ACCEPTED
    assert provider.query(sent.order_no).status is InvoiceStatus.ISSUED


def test_reissuing_an_issued_invoice_just_reports_it(sim: Sim, provider: NuonuoProvider):
    sent = order()
    provider.request_invoice(sent)
    issued = wait_final(provider, sent.order_no)
    assert provider.reissue(sent.order_no) == issued


def test_an_order_not_yet_listed_is_not_found_and_sending_it_again_finds_the_first(sim: Sim, provider: NuonuoProvider):
    sim.control(listing_lag_s=0.5)
    sent = order()
    provider.request_invoice(sent)
    assert provider.query(sent.order_no).status is InvoiceStatus.NOT_FOUND  # accepted, not listed yet

    assert provider.request_invoice(sent).status is InvoiceStatus.DUPLICATE  # so resending made no second one

    time.sleep(0.6)
    assert wait_final(provider, sent.order_no).status is InvoiceStatus.ISSUED
    assert sim.state()["orders"][sent.order_no] == "2"
