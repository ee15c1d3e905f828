"""The ledger says which network took a QR payment (gateway_orders.network, the payment's details): the receipt
names it, the daily settlement splits the QR total by network, and `kiosk report gateway` reconciles every
configured network at once, a movement no bill lists staying with its own network. `kiosk sim wechatpay` and
`kiosk sim alipay` as real processes; SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
from dataclasses import replace
from pathlib import Path

from sqlalchemy import select

from kiosk import settings as settings_mod
from kiosk.cli.gateway_report_cmds import bill_sources
from kiosk.domain import site_clock
from kiosk.domain.terms import PaymentMethod, PaymentPurpose, PaymentStatus
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import GatewayOrderRecord, Payment
from kiosk.services import gateway_reconcile as gr
from kiosk.services import payments, settlement
from kiosk.services.split_tender import method_label
from tests.gateway.test_gateway_reconcile import network_paid, order_no, run, today, wechat_gateway
from tests.support import estate
from tests.support.alipay_rig import alipay_process
from tests.support.wechatpay_rig import sim_process


def _booked(factory, till, household: int, number: str, amount_fen: int, txn: str, network: str) -> int:  # type: ignore[no-untyped-def]
    """What the QR collector books: intent, the order record with its network, the money (network on the payment),
    then the settled payment."""
    with unit_of_work(factory) as s:
        payment, _ = payments.record_intent(s, till, key=f"key-{number}", purpose=PaymentPurpose.TOP_UP,
                                            method=PaymentMethod.QR, amount_fen=amount_fen, household_id=household)
        s.add(GatewayOrderRecord(payment_id=payment.id, order_id=number, amount_fen=amount_fen, state="paid",
                                 gateway_txn=txn, network=network))
        s.flush()
        assert payments.record_gateway_paid(s, till, payment, amount_fen, txn, network=network)
        payment.status = str(PaymentStatus.SUCCEEDED)
        payment.completed_at = site_clock.now_utc()
        return payment.id


def test_two_networks_reconcile_at_once_and_receipts_and_settlement_name_the_network(factory, tmp_path: Path) -> None:
    with unit_of_work(factory) as s:
        mini = estate.build(s, households=1, bills_each=1)
    hh = mini.household_ids[0]
    with sim_process(tmp_path / "wx") as wx, alipay_process(tmp_path / "ali") as ali:
        wx.control(action="bills_today", ready=True)
        ali.control(bill_lag_days=0)
        site = tmp_path / "site.toml"
        site.write_text(f'[devices.gateway]\nnetworks = ["wechatpay", "alipay"]\n[devices.gateway.wechatpay]\n'
                        f'url = "{wx.url}"\n[devices.gateway.alipay]\nurl = "{ali.credentials["gateway_url"]}"\n')
        s = settings_mod.load(tmp_path / "data", str(site))
        c = ali.credentials
        s = replace(s, secrets=replace(s.secrets, wechatpay_credentials=str(wx.keys / "credentials.json"),
                                       alipay_app_id=c["app_id"], alipay_app_private_key_file=c["app_private_key_path"],
                                       alipay_public_key_file=c["alipay_public_key_path"]))
        sources = bill_sources(s)  # what `kiosk report gateway` downloads: every configured network's bill
        assert list(sources) == ["wechatpay", "alipay"]
        wx_number, wx_txn = network_paid(wechat_gateway(wx), lambda n: wx.control(action="pay", out_trade_no=n,
                                                                                   notify="never"), 12_300)
        ali_number, ali_txn = network_paid(sources["alipay"], lambda n: ali.control(action="pay", out_trade_no=n),
                                           4_500)
        wx_id = _booked(factory, mini.till, hh, wx_number, 12_300, wx_txn, "wechatpay")
        _booked(factory, mini.till, hh, ali_number, 4_500, ali_txn, "alipay")
        missing = order_no()
        _booked(factory, mini.till, hh, missing, 700, "2026NOTONANYBILL", "alipay")
        report = run(factory, mini.till.site_id, sources)
    found = {f.key: (f.network, f.status) for f in report.findings}
    assert found == {wx_number: ("wechatpay", "matched"), ali_number: ("alipay", "matched"),
                     missing: ("alipay", "ledger_only")}  # not `unknown`: its record names its network
    assert report.totals() == (gr.NetworkTotals("wechatpay", 1, 12_300, 0, 0),
                               gr.NetworkTotals("alipay", 1, 4_500, 1, 700))
    with unit_of_work(factory) as session:
        payment = session.get(Payment, wx_id)
        assert method_label(payment, "en") == "QR payment (WeChat Pay)"
        assert method_label(payment, "zh_Hans").endswith("（微信支付）")
        day = settlement.daily_settlement(session, mini.till.site_id, today(), site_clock.DEFAULT_ZONE)
        _, slip = settlement.settlement_slip(session, mini.till, day, language="en", actor="test")
    assert day.qr_by_network == (("alipay", 5_200), ("wechatpay", 12_300))
    assert ("QR payment (Alipay)", "52.00") in slip.fields and ("QR payment (WeChat Pay)", "123.00") in slip.fields
    rows = list(csv.DictReader(io.StringIO(settlement.to_csv(day))))
    assert [(r["method"], r["amount_fen"]) for r in rows if r["record"] == "total_network"] == [
        ("qr:alipay", "5200"), ("qr:wechatpay", "12300")]
    with unit_of_work(factory) as session:
        assert {r.network for r in session.scalars(select(GatewayOrderRecord))} == {"wechatpay", "alipay"}
