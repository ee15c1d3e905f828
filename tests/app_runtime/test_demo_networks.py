"""`kiosk demo` on the WeChat Pay and Alipay simulators and the payment-code scanner: where their credentials live,
and the demo bar's payment-code actions read by the real scanner driver and charged by the real network drivers."""
from __future__ import annotations

import json
import time
import tomllib

import pytest

from devices.gateway.registry import alipay_options, build_payment_gateway
from devices.scanner.registry import build_scanner
from kiosk import settings as settings_mod
from kiosk.app_runtime.demo import DemoSimulators
from kiosk.app_runtime.demo_controls import DemoControls
from kiosk.domain.payment_code import Network
from kiosk.ports import OrderState as GatewayOrderState


@pytest.fixture
def demo(tmp_path):
    settings = settings_mod.load(tmp_path / "data")
    sims = DemoSimulators(settings.data_dir, settings.secrets.gateway_secret).start()
    try:
        yield settings, sims, sims.settings_for(settings)
    finally:
        sims.stop()


def test_the_demo_keeps_both_networks_credentials_in_its_data_dir_and_names_them_in_secrets(demo, tmp_path):
    settings, sims, _ = demo
    named = settings_mod.load_secrets(settings.data_dir)
    wechat = json.loads(open(named.wechatpay_credentials, encoding="utf-8").read())
    assert named.wechatpay_credentials.startswith(str(settings.data_dir / "gateway-sim"))
    for path in (named.alipay_app_private_key_file, named.alipay_public_key_file):
        assert path.startswith(str(settings.data_dir / "gateway-sim")) and open(path).read().startswith("-----BEGIN")
    assert named.alipay_app_id and wechat["mchid"]
    sims.stop()
    again = DemoSimulators(settings.data_dir, settings.secrets.gateway_secret).start()  # a second start reuses them
    try:
        with open(settings.data_dir / "secrets.toml", "rb") as fh:
            assert tomllib.load(fh)["wechatpay_credentials"] == named.wechatpay_credentials  # named once, parses
        assert json.loads(open(named.wechatpay_credentials).read())["merchant_serial_no"] == wechat["merchant_serial_no"]
        assert again.urls["alipay"].endswith("/gateway.do") and again.urls["wechatpay"].startswith("http://127.0.0.1:")
    finally:
        again.stop()


def _scanned(scanner, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = scanner.poll(0.2)
        if got is not None:
            return got
    raise AssertionError("nothing scanned")


def test_a_payment_code_shown_from_the_demo_bar_is_read_by_the_scanner_and_charged(demo):
    _settings, sims, configured = demo
    controls = DemoControls(sims, rt=None)
    d, secrets = configured.devices, configured.secrets
    scanner = build_scanner(d.scanner.kind, d.scanner.port, d.scanner.baud)
    scanner.open()
    alipay = build_payment_gateway("alipay", sims.urls["alipay"], "", **alipay_options(secrets))
    try:
        scanner.arm()
        shown = controls.show_payment_code("alipay")
        scan = _scanned(scanner)
        assert scan.network is Network.ALIPAY and shown == f"{scan.code[:2]}{'*' * (len(scan.code) - 4)}{scan.code[-2:]}"
        assert alipay.pay_with_code("DEMO-A-1", 1_230, "demo", scan.code).state is GatewayOrderState.PAID
    finally:
        scanner.close()


def test_a_code_that_waits_for_the_pin_is_paid_once_the_pin_is_entered_on_the_phone(demo):
    _settings, sims, configured = demo
    controls = DemoControls(sims, rt=None)
    d, secrets = configured.devices, configured.secrets
    wechat = build_payment_gateway("wechatpay", sims.urls["wechatpay"], "",
                                   wechatpay_credentials=secrets.wechatpay_credentials)
    scanner = build_scanner(d.scanner.kind, d.scanner.port, d.scanner.baud)
    scanner.open()
    try:
        assert controls.confirm_pin() is False  # nothing waits yet
        scanner.arm()
        controls.show_payment_code("wechat", pin=True)
        scan = _scanned(scanner)
        assert scan.network is Network.WECHAT
        assert wechat.pay_with_code("DEMO-W-1", 990, "demo", scan.code).state is GatewayOrderState.PENDING
        assert wechat.query("DEMO-W-1").state is GatewayOrderState.PENDING  # USERPAYING: the phone asks for the PIN
        assert controls.confirm_pin() is True
        assert wechat.query("DEMO-W-1").state is GatewayOrderState.PAID
    finally:
        scanner.close()
