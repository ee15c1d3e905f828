"""The day's trade bill against the ledger (kiosk/services/gateway_reconcile.py, `kiosk report gateway`), with
`kiosk sim wechatpay` and `kiosk sim alipay` as real processes (a fresh one per test: a bill lists everything the
simulator ever took that day), the ledger on SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from devices.gateway.registry import build_payment_gateway
from kiosk import bootstrap
from kiosk import settings as settings_mod
from kiosk.domain import site_clock
from kiosk.domain.terms import PaymentMethod, PaymentPurpose
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import GatewayOrderRecord, Payment
from kiosk.ports import OrderState, PaymentGateway
from kiosk.services import gateway_reconcile as gr
from kiosk.services import payments, settlement
from kiosk.services.receipts import Till
from kiosk.settings import load_secrets
from tests.support import estate
from tests.support.alipay_rig import alipay_process
from tests.support.wechatpay_rig import SimProcess, sim_process

ROOT = Path(__file__).resolve().parents[2]


def today() -> date:
    """The site's day now (Asia/Shanghai, as the bills' China dates)."""
    return site_clock.to_site(site_clock.now_utc()).date()


def order_no() -> str:
    return "KR" + uuid.uuid4().hex[:18]


@pytest.fixture
def wechat(tmp_path: Path) -> Iterator[SimProcess]:
    with sim_process(tmp_path / "wechatpay-keys") as running:
        running.control(action="bills_today", ready=True)
        yield running


def wechat_gateway(sim: SimProcess) -> PaymentGateway:
    return build_payment_gateway("wechatpay", sim.url, "", timeout_s=5.0, notify_url="http://127.0.0.1:9/notify",
                                 wechatpay_credentials=str(sim.keys / "credentials.json"))


def network_paid(gateway: PaymentGateway, pay: object, amount_fen: int) -> tuple[str, str]:
    """An order the resident paid at the network: (out_trade_no, the network's transaction id)."""
    number = order_no()
    gateway.create_order(number, amount_fen, "物业费", 300)
    pay(number)
    state = gateway.query(number)
    for _ in range(100):
        if state.state is OrderState.PAID:
            break
        time.sleep(0.05)
        state = gateway.query(number)
    assert state.state is OrderState.PAID
    return number, state.gateway_txn


def booked(factory: sessionmaker[Session], till: Till, household: int, number: str, amount_fen: int, txn: str,
           refund_id: str = "") -> None:
    """What the kiosk books for a QR order: intent, the order's record, the money on the clearing account
    (kiosk.services.payments), and the late refund when `refund_id` is given."""
    with unit_of_work(factory) as s:
        payment, _ = payments.record_intent(s, till, key=f"key-{number}", purpose=PaymentPurpose.TOP_UP,
                                            method=PaymentMethod.QR, amount_fen=amount_fen, household_id=household)
        s.add(GatewayOrderRecord(payment_id=payment.id, order_id=number, amount_fen=amount_fen,
                                 state="refunded" if refund_id else "paid", gateway_txn=txn))
        s.flush()
        if refund_id:
            payments.record_gateway_refund(s, till, payment, amount_fen, txn, refund_id)
        else:
            payments.record_gateway_paid(s, till, payment, amount_fen, txn)


def run(factory: sessionmaker[Session], site_id: int, networks: dict) -> gr.GatewayReconciliation:
    day = today()
    bills = gr.download_bills(networks, day)
    with unit_of_work(factory) as s:
        report = gr.reconcile(gr.ledger_movements(s, site_id, day, site_clock.DEFAULT_ZONE), bills, day,
                              site_clock.DEFAULT_ZONE)
        gr.record_run(s, site_id, report)
    return report


def test_a_day_of_wechat_payments_and_a_late_refund_all_match_and_the_settlement_shows_it(factory, wechat):
    with unit_of_work(factory) as s:
        mini = estate.build(s, households=1, bills_each=1)
    household = mini.household_ids[0]
    gateway = wechat_gateway(wechat)

    def pay(number: str) -> None:
        wechat.control(action="pay", out_trade_no=number, notify="never")

    first, txn1 = network_paid(gateway, pay, 12_345)
    late, txn2 = network_paid(gateway, pay, 5_000)
    gateway.refund(late, f"{late}-late", 5_000)  # paid after the kiosk gave up: refunded
    booked(factory, mini.till, household, first, 12_345, txn1)
    booked(factory, mini.till, household, late, 5_000, txn2, refund_id=f"{late}-late")

    report = run(factory, mini.till.site_id, {"wechatpay": gateway})
    assert report.all_matched, report.findings
    assert sorted((f.kind, f.key, f.bill_fen) for f in report.findings) == sorted(
        [("payment", first, 12_345), ("payment", late, 5_000), ("refund", f"{late}-late", 5_000)])
    assert report.totals() == (gr.NetworkTotals("wechatpay", 3, 22_345, 0, 0),)

    with unit_of_work(factory) as s:
        day = settlement.daily_settlement(s, mini.till.site_id, today(), site_clock.DEFAULT_ZONE)
        _, slip = settlement.settlement_slip(s, mini.till, day, language="en", actor="test")
    assert day.gateway == (gr.NetworkTotals("wechatpay", 3, 22_345, 0, 0),)
    assert ("Bill matched (wechatpay)", "3 / 223.45") in slip.fields
    assert ("Bill not matched (wechatpay)", "0 / 0.00") in slip.fields
    rows = list(csv.DictReader(io.StringIO(settlement.to_csv(day))))
    assert [(r["record"], r["method"], r["amount_fen"]) for r in rows if r["record"].startswith("gateway")] == [
        ("gateway_matched", "wechatpay", "22345"), ("gateway_unmatched", "wechatpay", "0")]


def test_unknown_missing_and_differing_wechat_payments_are_each_listed_with_their_reason(factory, wechat):
    with unit_of_work(factory) as s:
        mini = estate.build(s, households=1, bills_each=1)
    household = mini.household_ids[0]
    gateway = wechat_gateway(wechat)

    def pay(number: str) -> None:
        wechat.control(action="pay", out_trade_no=number, notify="never")

    matched, txn1 = network_paid(gateway, pay, 1_000)
    unknown, _ = network_paid(gateway, pay, 2_000)  # the network took it; our ledger never heard of it
    differs, txn3 = network_paid(gateway, pay, 3_000)
    booked(factory, mini.till, household, matched, 1_000, txn1)
    booked(factory, mini.till, household, differs, 2_990, txn3)  # booked ten fen short
    missing = order_no()
    booked(factory, mini.till, household, missing, 4_000, "4200000000NOTONTHEBILL")

    report = run(factory, mini.till.site_id, {"wechatpay": gateway})
    found = {f.key: (f.status, f.bill_fen, f.ledger_fen) for f in report.findings}
    assert found == {matched: ("matched", 1_000, 1_000), unknown: ("bill_only", 2_000, None),
                     differs: ("amount_differs", 3_000, 2_990), missing: ("ledger_only", None, 4_000)}
    assert not report.all_matched
    assert report.totals() == (gr.NetworkTotals("wechatpay", 1, 1_000, 3, 9_000),)


def test_a_payment_booked_twice_is_found_twice_not_matched() -> None:
    from kiosk.ports import BillRow

    at = site_clock.now_utc()
    moves = [gr.LedgerMovement("payment", "A", 100, "P1", "T1", at), gr.LedgerMovement("payment", "A", 100, "P2", "T1", at)]
    bills = {"alipay": [BillRow("2026-12-06 10:00:00", "A", "T1", "SUCCESS", 100)]}
    [finding] = gr.reconcile(moves, bills, today(), site_clock.DEFAULT_ZONE).findings
    assert (finding.status, finding.bill_fen, finding.ledger_fen) == ("duplicate", 100, 200)


def test_alipay_bill_not_yet_out_leaves_everything_unmatched_then_matches_once_it_is(factory, tmp_path):
    with unit_of_work(factory) as s:
        mini = estate.build(s, households=1, bills_each=1)
    with alipay_process(tmp_path / "alipay-keys") as sim:
        c = sim.credentials
        gateway = build_payment_gateway("alipay", c["gateway_url"], "", app_id=c["app_id"],
                                        app_private_key_file=c["app_private_key_path"],
                                        alipay_public_key_file=c["alipay_public_key_path"])

        def pay(number: str) -> None:
            sim.control(action="pay", out_trade_no=number)

        number, txn = network_paid(gateway, pay, 8_800)
        gateway.refund(number, "RF-1", 800)
        booked(factory, mini.till, mini.household_ids[0], number, 8_800, txn)
        with unit_of_work(factory) as s:  # the 800 fen refunded at the office's request
            payment = s.scalars(select(Payment).where(Payment.idempotency_key == f"key-{number}")).one()
            payments.record_gateway_refund(s, mini.till, payment, 800, txn, "RF-1")
        sim.control(bill_lag_days=1)  # Alipay: a day's bill exists from the next day
        waiting = run(factory, mini.till.site_id, {"alipay": gateway})
        sim.control(bill_lag_days=0)
        ready = run(factory, mini.till.site_id, {"alipay": gateway})
    # the driver reads "no bill yet" as an empty bill: our two movements are not on it
    assert {(f.key, f.status) for f in waiting.findings} == {(number, "ledger_only"), ("RF-1", "ledger_only")}
    assert ready.all_matched and ready.totals() == (gr.NetworkTotals("alipay", 2, 9_600, 0, 0),)
    with unit_of_work(factory) as s:  # the settlement shows the newest run
        assert gr.latest_totals(s, mini.till.site_id, today()) == ready.totals()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_cli_prints_each_finding_writes_the_csv_and_exits_3_until_all_match(db_url, tmp_path, wechat):
    data = tmp_path / "data"
    secrets = load_secrets(data).__dict__
    secrets["wechatpay_credentials"] = str(wechat.keys / "credentials.json")
    (data / "secrets.toml").write_text("".join(f'{k} = "{v}"\n' for k, v in secrets.items()), encoding="utf-8")
    config = tmp_path / "site.toml"
    config.write_text(f'[devices.gateway]\ndriver = "wechatpay"\nurl = "{wechat.url}"\n', encoding="utf-8")
    settings = settings_mod.load_for(str(data), str(config), db_url)
    db = bootstrap.open_database(settings)
    with unit_of_work(db.factory) as s:  # site HY, kiosk K01: what the default config names
        household = estate.build(s, households=1, bills_each=1).household_ids[0]
    till = bootstrap.ensure_till(db, settings)
    gateway = wechat_gateway(wechat)
    number, txn = network_paid(gateway, lambda n: wechat.control(action="pay", out_trade_no=n, notify="never"), 6_600)
    booked(db.factory, till, household, number, 6_600, txn)
    stray, _ = network_paid(gateway, lambda n: wechat.control(action="pay", out_trade_no=n, notify="never"), 700)

    def kiosk(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "kiosk", "report", "gateway", "--date", today().isoformat(),
                               "--data-dir", str(data), "--db-url", db_url, "--config", str(config), *args],
                              capture_output=True, text=True, timeout=120, cwd=ROOT)

    out = kiosk("--csv", str(tmp_path / "gateway.csv"))
    assert out.returncode == 3, out.stdout + out.stderr
    assert "NOT all matched" in out.stdout and f"bill_only        {stray}" in out.stdout
    assert "total wechatpay: matched 1 / 66.00, unmatched 1 / 7.00" in out.stdout
    rows = list(csv.DictReader((tmp_path / "gateway.csv").read_text(encoding="utf-8").splitlines()))
    assert {(r["key"], r["status"], r["bill_fen"], r["ledger_fen"]) for r in rows} == {
        (number, "matched", "6600", "6600"), (stray, "bill_only", "700", "")}

    booked(db.factory, till, household, stray, 700, "late-booked")  # staff book the stray payment
    out = kiosk("--json")
    assert out.returncode == 0, out.stdout + out.stderr
    assert json.loads(out.stdout)["totals"] == [{"network": "wechatpay", "matched_count": 2, "matched_fen": 7_300,
                                                 "unmatched_count": 0, "unmatched_fen": 0}]
    db.engine.dispose()


def test_a_sandbox_gateway_has_no_bill_and_the_cli_says_so_in_one_line(tmp_path):
    config = tmp_path / "site.toml"
    config.write_text('[devices.gateway]\ndriver = "sandbox"\nurl = "http://127.0.0.1:9"\n', encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "kiosk", "report", "gateway", "--date", "2026-12-01",
                          "--data-dir", str(tmp_path / "data"), "--config", str(config)],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "no trade bill" in out.stderr, out.stderr
