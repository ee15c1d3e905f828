"""A started kiosk counts as usable (ServicesReady, READY=1) only once its devices opened and money is recovered."""
from __future__ import annotations

import socket
import time
from dataclasses import replace

from sqlalchemy import select

from kiosk.app_runtime.demo import DemoSimulators
from kiosk.app_runtime.usable import wait_usable
from kiosk.app_runtime.wiring import build_runtime, start_runtime
from kiosk.domain.terms import PaymentMethod
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Bill, Household, Payment
from kiosk.services import payments
from tests.support.demo_site import seeded_site


def _payment_left_open(factory, till) -> int:
    """A cash payment with one note recorded, then the kiosk stopped: start-up recovery must release it."""
    with unit_of_work(factory) as session:
        hh = session.scalars(select(Household).where(Household.unit_no == "2-0102")).one().id
        bill = session.scalars(select(Bill).where(Bill.household_id == hh, Bill.status == "open")).first()
        payment, _ = payments.start_bill_payment(session, till, key="left-open", household_id=hh,
                                                 bill_ids=[bill.id], method=PaymentMethod.CASH)
        payments.record_cash_in(session, till, payment, counter=1, value_fen=2_000)
        return payment.id


def test_usable_means_every_device_open_and_the_money_left_open_recovered(engine, factory, db_url, tmp_path):
    s, db, till, _report = seeded_site(engine, factory, db_url, tmp_path / "data", households=4)
    left_open = _payment_left_open(factory, till)
    sims = DemoSimulators(s.data_dir, s.secrets.gateway_secret).start()
    rt = build_runtime(sims.settings_for(s), db)
    rt.on_stop(sims.stop)
    try:
        start_runtime(rt)
        usable = wait_usable(rt)
        assert usable.devices_down == () and usable.recovered
        assert {"reader", "printer", "cash"} <= set(rt.supervisors)
        assert all(supervisor.available for supervisor in rt.supervisors.values())
        assert rt.recovered.is_set()
        with unit_of_work(factory) as session:  # released before the first resident could pay
            assert session.get(Payment, left_open).failure_code == "E7005"
    finally:
        rt.stop()


def test_a_printer_that_does_not_answer_leaves_the_kiosk_usable_without_it(engine, factory, db_url, tmp_path):
    s, db, _till, _report = seeded_site(engine, factory, db_url, tmp_path / "data", households=4)
    sims = DemoSimulators(s.data_dir, s.secrets.gateway_secret).start()
    with socket.socket() as closed:  # a port nobody listens on: the printer's connect is refused at once
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings = sims.settings_for(s)
    settings = replace(settings, devices=replace(settings.devices, printer=replace(
        settings.devices.printer, url=f"tcp://127.0.0.1:{port}")))
    rt = build_runtime(settings, db)
    rt.on_stop(sims.stop)
    try:
        start_runtime(rt)
        began = time.monotonic()
        usable = wait_usable(rt, device_limit_s=10.0)
        assert usable.devices_down == ("printer",) and usable.recovered
        assert time.monotonic() - began < 5.0, "a refused printer must not hold the start for the whole limit"
        assert rt.supervisors["reader"].available and rt.supervisors["cash"].available
    finally:
        rt.stop()
