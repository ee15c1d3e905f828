"""The assembled kiosk (real drivers, wiring, facade) against the wire-level simulators and a real database."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from kiosk import bootstrap, settings as settings_mod
from kiosk.app_runtime.demo import DemoSimulators
from kiosk.app_runtime.wiring import build_runtime, start_runtime
from kiosk.demo import estate
from kiosk.domain.terms import AccountKind
from kiosk.flows import records as r
from kiosk.payments.control import PaymentControl, Stage
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Household
from kiosk.services import ledger
from tests.support.demo_site import seeded_site


@pytest.fixture
def kiosk(engine, factory, db_url, tmp_path):
    s, db, _till, _report = seeded_site(engine, factory, db_url, tmp_path / "data", households=8)
    sims = DemoSimulators(s.data_dir, s.secrets.gateway_secret).start()
    rt = build_runtime(sims.settings_for(s), db)
    rt.on_stop(sims.stop)
    start_runtime(rt)
    assert rt.supervisors["cash"].wait_available(10)
    yield rt, sims
    rt.stop()


def _household(factory, unit="2-0102"):
    with unit_of_work(factory) as s:
        return str(s.scalars(select(Household).where(Household.unit_no == unit)).one().id)


def _feed_notes(sims, control, done: threading.Event):
    """A resident at the validator: 100-yuan notes while more than 100 is due, then the smallest
    note that covers the rest (so the excess becomes credit). Retries while notes are inhibited."""
    while not done.is_set():
        p = control.last
        if p is not None and p.stage is Stage.INSERT_NOTES and p.due_fen:
            remaining = p.due_fen - p.received_fen
            note = 100 if remaining > 10_000 else next(y for y in (1, 5, 10, 20, 50, 100) if y * 100 >= remaining)
            if sims.cash.insert_note(note) in ("stacked", "escrow"):
                done.wait(0.4)  # let the kiosk stack it and report the new total
                continue
        done.wait(0.05)


def test_cash_payment_through_the_real_validator_driver_credits_the_excess(kiosk, factory):
    rt, sims = kiosk
    hh = _household(factory)
    bill = rt.services.household_summary(hh).bills[0]
    control, done = PaymentControl(), threading.Event()
    feeder = threading.Thread(target=_feed_notes, args=(sims, control, done))
    feeder.start()
    try:
        result = rt.services.pay_bills(hh, (bill.bill_id,), r.PaymentMethod.CASH, "cash-e2e", "zh_Hans",
                                       control=control)
    finally:
        done.set()
        feeder.join()
    assert result.receipt_number and result.amount_fen == bill.amount_fen
    with unit_of_work(factory) as s:
        credit = ledger.account(s, AccountKind.CREDIT, household_id=int(hh))
        assert ledger.liability_balance(s, credit) == result.credit_fen
        box = ledger.account(s, AccountKind.CASH_BOX, kiosk_id=rt.till.kiosk_id)
        assert ledger.balance(s, box) == bill.amount_fen + result.credit_fen
    assert sims.cash.stacked_fen == bill.amount_fen + result.credit_fen


def test_qr_payment_through_the_demo_wechatpay_simulator_paid_by_the_demo_bar(kiosk, factory):
    from kiosk.app_runtime.demo_controls import DemoControls

    rt, sims = kiosk
    controls = DemoControls(sims, rt)
    hh = _household(factory, "3-0103")
    bill = rt.services.household_summary(hh).bills[0]

    def on_progress(p):
        if p.stage is Stage.SCAN_QR and p.code_url:
            assert p.code_url.startswith("weixin://wxpay/bizpayurl?pr=")
            threading.Thread(target=controls.pay_open_qr).start()  # the demo bar's "Scan the QR code"

    result = rt.services.pay_bills(hh, (bill.bill_id,), r.PaymentMethod.QR, "qr-e2e", "en",
                                   control=PaymentControl(on_progress))
    assert result.receipt_number
    (order,) = sims.wechatpay.state()["orders"]
    assert order["trade_state"] == "SUCCESS" and order["amount"]["total"] == bill.amount_fen
    assert controls.open_qr_orders() == () and controls.pay_open_qr() is False


def test_qr_payment_on_the_demo_alipay_simulator_is_paid_by_the_same_demo_button(kiosk, factory):
    from kiosk.app_runtime.demo_controls import DemoControls

    rt, sims = kiosk
    assert rt.qr_networks() == ("wechatpay", "alipay")
    controls = DemoControls(sims, rt)
    hh = _household(factory, "3-0103")
    bill = rt.services.household_summary(hh).bills[0]

    def on_progress(p):
        if p.stage is Stage.SCAN_QR and p.code_url:
            assert p.code_url.startswith("https://qr.alipay.com/")
            threading.Thread(target=controls.pay_open_qr).start()

    control = PaymentControl(on_progress)
    control.network = "alipay"
    result = rt.services.pay_bills(hh, (bill.bill_id,), r.PaymentMethod.QR, "qr-alipay", "en", control=control)
    assert result.receipt_number
    (trade,) = sims.alipay.state()["trades"]
    assert trade["status"] == "TRADE_SUCCESS" and trade["total_amount"] == f"{bill.amount_fen // 100}.{bill.amount_fen % 100:02d}"
    assert sims.wechatpay.state()["orders"] == []  # the other network was not asked


def test_device_health_reports_every_simulated_device(kiosk):
    rt, _ = kiosk
    assert rt.supervisors["printer"].wait_available(10) and rt.supervisors["reader"].wait_available(10)
    health = {d.device: d.state for d in rt.services.device_health()}
    assert rt.supervisors["scanner"].wait_available(10)
    health = {d.device: d.state for d in rt.services.device_health()}
    assert health == {"reader": r.DeviceState.OK, "printer": r.DeviceState.OK, "cash": r.DeviceState.OK,
                      "gateway": r.DeviceState.OK, "scanner": r.DeviceState.OK}


def test_restart_releases_a_payment_left_unfinished_and_keeps_its_money(engine, factory, db_url, tmp_path):
    from kiosk.domain.terms import PaymentMethod
    from kiosk.persistence.models import Bill, Payment
    from kiosk.services import payments

    s = settings_mod.load(tmp_path / "data", db_url=db_url)
    db = bootstrap.Database(engine, factory, db_url)
    till = bootstrap.ensure_till(db, s)
    with unit_of_work(factory) as session:
        estate.seed(session, till, households=4)
        hh = session.scalars(select(Household).where(Household.unit_no == "2-0102")).one().id
        bill = session.scalars(select(Bill).where(Bill.household_id == hh, Bill.status == "open")).first()
        payment, _ = payments.start_bill_payment(session, till, key="left-open", household_id=hh,
                                                 bill_ids=[bill.id], method=PaymentMethod.CASH)
        payments.record_cash_in(session, till, payment, counter=1, value_fen=2_000)  # one note, then the crash
        payment_id, bill_id = payment.id, bill.id
    rt = build_runtime(s, db)  # no devices attached: only the release runs
    start_runtime(rt)
    assert rt.recovered.wait(20)
    rt.stop()
    with unit_of_work(factory) as session:
        assert session.get(Payment, payment_id).failure_code == "E7005"
        assert session.get(Bill, bill_id).status == "open"
        credit = ledger.account(session, AccountKind.CREDIT, household_id=hh)
        assert ledger.liability_balance(session, credit) == 2_000


def test_a_paid_receipt_comes_out_of_the_simulated_printer(kiosk, factory):
    import json
    import time

    rt, sims = kiosk
    hh = _household(factory, "1-0101")
    summary = rt.services.household_summary(hh)
    result = rt.services.report_card_lost(hh, summary.cards[0].card_uid, "zh_Hans")  # a receipt with no card I/O
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not sims.printer.records:
        time.sleep(0.1)
    assert len(sims.printer.records) == 1, "the demo history must not be printed again"
    text = json.dumps(sims.printer.records[0], ensure_ascii=False)
    assert result.receipt_number in text and "和悦花园" in text


def test_card_watcher_timing_comes_from_the_reader_settings(engine, factory, db_url, tmp_path):
    site = tmp_path / "site.toml"
    site.write_text("[devices.reader]\npoll_ms = 200\nremoval_grace_ms = 0\n", encoding="utf-8")
    s = settings_mod.load(tmp_path / "data", str(site), db_url=db_url)
    db = bootstrap.Database(engine, factory, db_url)
    bootstrap.ensure_till(db, s)
    sims = DemoSimulators(s.data_dir, s.secrets.gateway_secret).start()
    rt = build_runtime(sims.settings_for(s), db)
    rt.on_stop(sims.stop)
    start_runtime(rt)
    try:
        watcher = rt.card_watcher
        assert (watcher.poll_timeout, watcher.removal_grace) == (0.2, 0.0)
    finally:
        rt.stop()
