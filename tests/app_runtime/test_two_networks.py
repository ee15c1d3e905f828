"""A kiosk configured with WeChat Pay and Alipay at once: each network with its own URL, timeout and keys, one
gateway, listener and QR collector per network, every order recorded with the network that took it; the old
single-driver form still loads. Against `kiosk sim wechatpay` and `kiosk sim alipay` as real processes."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from kiosk import settings as settings_mod
from kiosk.app_runtime.wiring import build_runtime
from kiosk.errors import ConfigError
from kiosk.flows import records as r
from kiosk.i18n import translate
from kiosk.payments.control import PaymentControl, Stage
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import GatewayOrderRecord, Household
from tests.support.alipay_rig import Sim, alipay_process
from tests.support.demo_site import seeded_site
from tests.support.wechatpay_rig import SimProcess, sim_process

BOTH = """
[devices.gateway]
networks = ["wechatpay", "alipay"]
[devices.gateway.wechatpay]
url = "{wx}"
order_timeout_s = 30
[devices.gateway.alipay]
url = "{ali}"
order_timeout_s = 45
"""


def _site_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "site.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_both_networks_load_each_with_its_own_url_and_timeout(tmp_path: Path) -> None:
    site = _site_file(tmp_path, BOTH.format(wx="http://127.0.0.1:1", ali="http://127.0.0.1:2/gateway.do"))
    g = settings_mod.load(tmp_path / "data", site, with_secrets=False).devices.gateway
    assert g.configured() == {"wechatpay": ("http://127.0.0.1:1", 30), "alipay": ("http://127.0.0.1:2/gateway.do", 45)}


def test_the_single_driver_form_keeps_loading(tmp_path: Path) -> None:
    site = _site_file(tmp_path, '[devices.gateway]\ndriver = "alipay"\nurl = "http://h/gateway.do"\n')
    g = settings_mod.load(tmp_path / "data", site, with_secrets=False).devices.gateway
    assert g.configured() == {"alipay": ("http://h/gateway.do", 120)}
    assert settings_mod.load(tmp_path / "other", None, with_secrets=False).devices.gateway.configured() == {}


@pytest.mark.parametrize(("text", "names"), [
    ('[devices.gateway]\nnetworks = ["wechatpay", "unionpay"]\n', "devices.gateway.networks"),
    ('[devices.gateway]\nnetworks = ["alipay", "alipay"]\n[devices.gateway.alipay]\nurl = "http://h"\n',
     "devices.gateway.networks"),
    ('[devices.gateway]\nnetworks = ["wechatpay"]\n', "devices.gateway.wechatpay.url"),
    ('[devices.gateway.alipay]\nurl = "http://h"\nsecret = "x"\n', "devices.gateway.alipay.secret"),
    ('[devices.gateway.wechatpay]\norder_timeout_s = 5\n', "devices.gateway.wechatpay.order_timeout_s"),
])
def test_a_bad_networks_setting_is_one_translated_line_with_its_code(tmp_path: Path, text: str, names: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_mod.load(tmp_path / "data", _site_file(tmp_path, text), with_secrets=False)
    line = translate(caught.value.message, "zh_Hans", **caught.value.params)
    assert caught.value.code.startswith("E10") and names in line and "\n" not in line


@pytest.fixture(scope="module")
def sims(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SimProcess, Sim]]:
    with sim_process(tmp_path_factory.mktemp("wx")) as wx, alipay_process(tmp_path_factory.mktemp("ali")) as ali:
        yield wx, ali


@pytest.fixture
def kiosk(sims, engine, factory, db_url, tmp_path):  # type: ignore[no-untyped-def]
    wx, ali = sims
    site = _site_file(tmp_path, BOTH.format(wx=wx.url, ali=ali.credentials["gateway_url"]))
    s, db, _till, _report = seeded_site(engine, factory, db_url, tmp_path / "data", households=4)
    s = settings_mod.load(s.data_dir, site, db_url=db_url)
    c = ali.credentials
    s = replace(s, secrets=replace(s.secrets, wechatpay_credentials=str(wx.keys / "credentials.json"),
                                   alipay_app_id=c["app_id"], alipay_app_private_key_file=c["app_private_key_path"],
                                   alipay_public_key_file=c["alipay_public_key_path"]))
    rt = build_runtime(s, db)
    yield rt
    rt.stop()


def _household(factory, unit: str) -> str:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as s:
        return str(s.scalars(select(Household).where(Household.unit_no == unit)).one().id)


def _pay_on(rt, factory, network: str, unit: str, resident_pays) -> None:  # type: ignore[no-untyped-def]
    hh = _household(factory, unit)
    bill = rt.services.household_summary(hh).bills[0]

    def on_progress(p) -> None:  # type: ignore[no-untyped-def]
        if p.stage is Stage.SCAN_QR and p.code_url and p.can_cancel:
            with unit_of_work(factory) as s:
                order_id = s.scalars(select(GatewayOrderRecord.order_id).where(GatewayOrderRecord.state == "pending")
                                     .where(GatewayOrderRecord.network == network)).one()
            threading.Thread(target=resident_pays, args=(order_id,)).start()

    control = PaymentControl(on_progress)
    control.network = network
    result = rt.services.pay_bills(hh, (bill.bill_id,), r.PaymentMethod.QR, f"two-{network}", "en", control=control)
    assert result.receipt_number and result.amount_fen == bill.amount_fen


def test_each_network_takes_its_own_payment_and_records_it(kiosk, factory, sims) -> None:
    wx, ali = sims
    rt = kiosk
    assert rt.qr_networks() == ("wechatpay", "alipay")
    assert rt.qr_collectors["wechatpay"].timeout_s == 30 and rt.qr_collectors["alipay"].timeout_s == 45
    _pay_on(rt, factory, "alipay", "2-0102", lambda oid: ali.control(action="pay", out_trade_no=oid))
    _pay_on(rt, factory, "wechatpay", "3-0103",
            lambda oid: wx.control(action="pay", out_trade_no=oid, notify="once", delay_s=0))
    with unit_of_work(factory) as s:
        rows = {row.network: (row.state, row.kind) for row in s.scalars(select(GatewayOrderRecord))}
    assert rows == {"alipay": ("paid", "native"), "wechatpay": ("paid", "native")}
    with unit_of_work(factory) as s:
        by_network = dict(s.execute(select(GatewayOrderRecord.network, GatewayOrderRecord.order_id)).all())
    assert by_network["alipay"] in str(ali.state()) and by_network["alipay"] not in str(wx.state())
    assert by_network["wechatpay"] in str(wx.state()) and by_network["wechatpay"] not in str(ali.state())


def test_recovery_asks_each_network_only_about_its_own_orders(kiosk, factory, sims) -> None:
    rt = kiosk
    with unit_of_work(factory) as s:
        from kiosk.services import payments
        from kiosk.domain.terms import PaymentMethod
        from kiosk.persistence.models import Bill

        hh = int(_household(factory, "2-0102"))
        bill = s.scalars(select(Bill).where(Bill.household_id == hh, Bill.status == "open")).first()
        payment, _ = payments.start_bill_payment(s, rt.till, key="open-ali", household_id=hh, bill_ids=[bill.id],
                                                 method=PaymentMethod.QR)
        s.add(GatewayOrderRecord(payment_id=payment.id, order_id="open-ali-1", amount_fen=100, state="pending",
                                 network="alipay"))
    assert rt.qr_collectors["wechatpay"].recover() == []  # WeChat Pay never hears of Alipay's order
    (settled,) = rt.qr_collectors["alipay"].recover()
    assert settled.order_id == "open-ali-1"
    with unit_of_work(factory) as s:
        assert s.scalars(select(GatewayOrderRecord.state)).one() == settled.state == "closed"  # Alipay cancels it for good


@pytest.fixture
def kiosk_with_scanner(sims, engine, factory, db_url, tmp_path):  # type: ignore[no-untyped-def]
    from devices.sim.scanner_sim import SimScanner

    wx, ali = sims
    scanner = SimScanner()
    scanner.start()
    site = _site_file(tmp_path, BOTH.format(wx=wx.url, ali=ali.credentials["gateway_url"])
                      + f'[devices.scanner]\nport = "{scanner.path}"\n')
    s, db, _till, _report = seeded_site(engine, factory, db_url, tmp_path / "data", households=4)
    s = settings_mod.load(s.data_dir, site, db_url=db_url)
    c = ali.credentials
    s = replace(s, secrets=replace(s.secrets, wechatpay_credentials=str(wx.keys / "credentials.json"),
                                   alipay_app_id=c["app_id"], alipay_app_private_key_file=c["app_private_key_path"],
                                   alipay_public_key_file=c["alipay_public_key_path"]))
    rt = build_runtime(s, db)
    rt.start()
    assert rt.supervisors["scanner"].wait_available(5)
    yield rt, scanner
    rt.stop()
    scanner.stop()


def test_a_payment_code_on_the_chosen_network_pays_through_the_runtime_with_a_receipt(
        kiosk_with_scanner, factory, sims) -> None:
    from devices.sim.scanner_sim import fresh_code

    rt, scanner = kiosk_with_scanner
    wx, ali = sims
    ali.control(bar_code="pay", pin_ms=None)
    status = rt.services.service_status()
    assert status.qr_networks == ("wechatpay", "alipay") and status.code_networks == ("wechatpay", "alipay")
    hh = _household(factory, "2-0102")
    bill = rt.services.household_summary(hh).bills[0]

    def on_progress(p) -> None:  # type: ignore[no-untyped-def]
        if p.stage is Stage.SHOW_CODE and p.can_cancel and not scanner.sent:
            scanner.send(fresh_code("alipay"))

    control = PaymentControl(on_progress)
    control.network, control.direction = "alipay", "payment_code"
    result = rt.services.pay_bills(hh, (bill.bill_id,), r.PaymentMethod.QR, "two-code", "en", control=control)
    assert result.receipt_number and result.amount_fen == bill.amount_fen
    with unit_of_work(factory) as s:
        assert [(g.network, g.kind, g.state) for g in s.scalars(select(GatewayOrderRecord))] == [
            ("alipay", "code", "paid")]
    rt.supervisors["scanner"].stop()  # the scanner gone: the direction is no longer offered
    assert rt.services.service_status().code_networks == ()
