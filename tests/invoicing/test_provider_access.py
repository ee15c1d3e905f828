"""Signing, the access token and the transport: what the adapter does when the provider refuses or is away."""
from __future__ import annotations

import json
import logging
import time
import urllib.request
from urllib.parse import urlencode

import pytest

from devices.tax import nuonuo_protocol as wire
from devices.tax.token_store import FileTokenStore
from kiosk.errors import InvoiceProviderUnreachable, InvoiceRateLimited, InvoiceSignatureRejected
from kiosk.ports import AccessToken, InvoiceStatus
from tests.invoicing.conftest import APP_KEY, APP_SECRET, Sim, order, order_no, wait_final


def test_the_simulator_starts_with_a_two_second_delay_by_default():
    from devices.sim.tax_provider_sim import DEFAULT_DELAY_S
    from kiosk.cli.main import build_parser

    args = build_parser().parse_args(["sim", "tax-provider"])
    assert args.delay == DEFAULT_DELAY_S == 2.0


def test_the_delay_is_settable_at_runtime(sim: Sim, provider):
    sim.control(delay_s=1.0)
    sent = order()
    started = time.monotonic()
    provider.request_invoice(sent)
    assert wait_final(provider, sent.order_no).status is InvoiceStatus.ISSUED
    assert 0.9 <= time.monotonic() - started < 3.0


def test_a_request_signed_with_another_secret_is_refused(sim: Sim, make_provider, token_file):
    make_provider().query(order_no())  # a valid token is now in the store
    forger = make_provider(app_secret="not-the-app-secret")
    with pytest.raises(InvoiceSignatureRejected, match="070304"):
        forger.query(order_no())


def test_the_signature_covers_the_body_exactly(sim: Sim, make_provider, token_file):
    make_provider().query(order_no())
    token = FileTokenStore(token_file).load()
    assert token is not None
    signed_body = json.dumps({"orderNos": ["A1"]}, separators=(",", ":"))
    sent_body = json.dumps({"orderNos": ["A2"]}, separators=(",", ":"))
    senid, nonce, stamp = wire.new_senid(), wire.new_nonce(), str(int(time.time()))
    query = urlencode({"senid": senid, "nonce": nonce, "timestamp": stamp, "appkey": APP_KEY})
    request = urllib.request.Request(
        f"{sim.url}{wire.SERVICES_PATH}?{query}", data=sent_body.encode(), method="POST",
        headers={"Content-Type": "application/json", "accessToken": token.token, "method": wire.QUERY_RESULT,
                 "X-Nuonuo-Sign": wire.sign(APP_SECRET, APP_KEY, senid, nonce, stamp, signed_body)})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert json.loads(response.read())["code"] == wire.BAD_SIGNATURE


def test_a_wrong_app_key_or_secret_gets_no_token(sim: Sim, make_provider):
    with pytest.raises(InvoiceSignatureRejected, match="070101"):
        make_provider(app_secret="wrong").query(order_no())


def test_the_token_is_kept_across_restarts_and_not_fetched_again(sim: Sim, make_provider):
    before = sim.state()["tokens"]
    make_provider().query(order_no())
    make_provider().query(order_no())  # a new adapter on the same data dir: a restart
    assert sim.state()["tokens"] == before + 1


def test_the_token_is_refreshed_before_it_expires(sim: Sim, make_provider):
    sim.control(token_ttl_s=100)
    now = [time.time()]
    provider = make_provider(refresh_margin_s=60, clock=lambda: now[0])
    before = sim.state()["tokens"]
    provider.query(order_no())
    now[0] += 30  # 70 s left: still good
    provider.query(order_no())
    assert sim.state()["tokens"] == before + 1
    now[0] += 15  # 55 s left: inside the margin, so a new one before the old one lapses
    provider.query(order_no())
    assert sim.state()["tokens"] == before + 2


def test_a_token_the_provider_calls_invalid_is_replaced_once(sim: Sim, provider):
    provider.query(order_no())
    before = sim.state()["tokens"]
    sim.control(expire_tokens=True)
    assert provider.query(order_no()).status is InvoiceStatus.NOT_FOUND
    assert sim.state()["tokens"] == before + 1


def test_the_provider_refuses_more_than_its_token_budget(sim: Sim, make_provider, tmp_path):
    sim.control(token_budget=2)
    make_provider(token_store=FileTokenStore(tmp_path / "a.json")).query(order_no())
    make_provider(token_store=FileTokenStore(tmp_path / "b.json")).query(order_no())
    with pytest.raises(InvoiceRateLimited, match="070306"):
        make_provider(token_store=FileTokenStore(tmp_path / "c.json")).query(order_no())


def test_the_adapter_does_not_spend_past_the_budget_itself(sim: Sim, make_provider, token_file):
    spent = tuple(time.time() - 3600 * i for i in range(50, 0, -1))
    FileTokenStore(token_file).save(AccessToken("expired", 0.0, spent))
    before = sim.state()["tokens"]
    with pytest.raises(InvoiceRateLimited, match="50 access tokens in 30 days"):
        make_provider().query(order_no())
    assert sim.state()["tokens"] == before


def test_a_rate_limited_call_raises_rate_limited(sim: Sim, provider):
    provider.query(order_no())
    sim.control(rate_limit=1)
    with pytest.raises(InvoiceRateLimited, match="070303"):
        provider.request_invoice(order())
    assert provider.query(order_no()).status is InvoiceStatus.NOT_FOUND


@pytest.mark.parametrize("mode", ["503", "drop"])
def test_a_provider_that_is_down_is_unreachable(sim: Sim, provider, mode):
    provider.query(order_no())
    sim.control(outage=mode)
    with pytest.raises(InvoiceProviderUnreachable) as down:
        provider.request_invoice(order())
    assert down.value.code == "E9001"
    sim.control(outage=False)
    assert provider.query(order_no()).status is InvoiceStatus.NOT_FOUND


def test_nothing_listening_is_unreachable(make_provider):
    with pytest.raises(InvoiceProviderUnreachable):
        make_provider(url="http://127.0.0.1:9").query(order_no())


def test_an_answer_too_late_is_unreachable_and_the_order_is_found_by_query(sim: Sim, make_provider):
    provider = make_provider(timeout_s=0.5)
    provider.query(order_no())
    sim.control(stall_s=1.5)
    sent = order()
    with pytest.raises(InvoiceProviderUnreachable):
        provider.request_invoice(sent)  # the provider took it; the answer did not come back in time
    sim.control(stall_s=0)
    assert provider.query(sent.order_no).status in (InvoiceStatus.ISSUING, InvoiceStatus.ISSUED)
    assert provider.request_invoice(sent).status is InvoiceStatus.DUPLICATE
    assert wait_final(provider, sent.order_no).status is InvoiceStatus.ISSUED


def test_logs_and_repr_never_show_the_secret_or_the_token(sim: Sim, provider, token_file, caplog):
    caplog.set_level(logging.DEBUG)
    provider.request_invoice(order())
    token = FileTokenStore(token_file).load()
    assert token is not None
    shown = caplog.text + repr(provider)
    assert APP_SECRET not in shown and token.token not in shown


def test_the_token_file_is_private(sim: Sim, provider, token_file):
    provider.query(order_no())
    assert token_file.stat().st_mode & 0o077 == 0


def test_a_token_endpoint_that_is_down_does_not_stop_a_token_still_valid(sim: Sim, make_provider):
    sim.control(token_ttl_s=100)
    now = [time.time()]
    provider = make_provider(refresh_margin_s=60, clock=lambda: now[0])
    provider.query(order_no())
    sim.control(token_outage=True)
    now[0] += 45  # time to refresh, but the old token has 55 s left
    assert provider.query(order_no()).status is InvoiceStatus.NOT_FOUND
    now[0] += 60  # expired by now: without a new token nothing can be sent
    with pytest.raises(InvoiceProviderUnreachable):
        provider.query(order_no())
