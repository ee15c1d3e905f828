"""The assembled kiosk (real drivers on the wire-level simulators, real PostgreSQL behind a TCP proxy) when the
network to the database drops every packet mid-run, and when it comes back."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from kiosk import bootstrap
from kiosk.app_runtime.demo import DemoSimulators
from kiosk.app_runtime.wiring import build_runtime, start_runtime
from kiosk.domain.terms import AccountKind, BillStatus, PaymentStatus
from kiosk.errors import DatabaseGone, PaymentCutOff, PaymentInterruptedOffline
from kiosk.flows import records as r
from kiosk.payments.control import PaymentControl, Stage
from kiosk.persistence.db import make_engine, unit_of_work
from kiosk.persistence.models import Bill, Household, Payment
from kiosk.services import ledger
from tests.support.chain_key import bound_factory
from tests.support.demo_site import seeded_site


def _until(predicate, timeout_s: float, step: float = 0.05) -> float:
    began = time.monotonic()
    while time.monotonic() - began < timeout_s:
        if predicate():
            return time.monotonic() - began
        time.sleep(step)
    raise AssertionError(f"not within {timeout_s} s")


@pytest.fixture
def kiosk(cut, pg_url, tmp_path):
    url = cut.url_for(pg_url)
    engine = make_engine(url)
    factory = bound_factory(engine)
    s, db, _till, _report = seeded_site(engine, factory, url, tmp_path / "data", households=6)
    sims = DemoSimulators(s.data_dir, s.secrets.gateway_secret).start()
    rt = build_runtime(sims.settings_for(s), db)
    rt.on_stop(sims.stop)
    start_runtime(rt)
    assert rt.supervisors["cash"].wait_available(10)
    assert rt.recovered.wait(20)
    yield rt, sims, factory
    cut.restore()
    rt.stop()


def _household(factory, unit="2-0102") -> str:
    with unit_of_work(factory) as s:
        return str(s.scalars(select(Household).where(Household.unit_no == unit)).one().id)


def _credit(factory, household_id: str) -> int:
    with unit_of_work(factory) as s:
        return ledger.liability_balance(s, ledger.account(s, AccountKind.CREDIT, household_id=int(household_id)))


def test_a_note_stacked_while_the_database_is_gone_is_journaled_and_credited_once_when_it_is_back(kiosk, cut):
    rt, sims, factory = kiosk
    hh = _household(factory)
    bill = max(rt.services.household_summary(hh).bills, key=lambda b: b.amount_fen)
    assert bill.amount_fen > 10_000, "the bill must need two 100-yuan notes"
    credit_before = _credit(factory, hh)
    control, outcome = PaymentControl(), {}

    def pay() -> None:
        try:
            outcome["result"] = rt.services.pay_bills(hh, (bill.bill_id,), r.PaymentMethod.CASH, "offline-cash",
                                                      "en", control=control)
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            outcome["error"] = exc
            outcome["at"] = time.monotonic()

    payer = threading.Thread(target=pay)
    payer.start()
    _until(lambda: control.last is not None and control.last.stage is Stage.INSERT_NOTES and control.last.notes_fen, 10)
    assert sims.cash.insert_note(100) in ("stacked", "escrow")
    _until(lambda: control.last.received_fen == 10_000, 10)  # the first note is on the ledger

    cut.blackhole()
    cut_at = time.monotonic()
    seen = _until(lambda: not rt.offline.up, 10)
    assert seen < 5.0
    assert any(d.device == "database" and d.state is r.DeviceState.DOWN for d in rt.device_health())
    _until(lambda: sims.cash.insert_note(100) in ("stacked", "escrow"), 5, step=0.2)
    payer.join(15)
    assert not payer.is_alive()
    error = outcome.get("error")
    assert isinstance(error, PaymentInterruptedOffline), outcome
    reference = error.params["reference"]
    assert error.params["received_fen"] == 20_000
    text = error.user_message("en")
    assert "¥200.00" in text and reference in text and error.code == "E2013", text
    assert outcome["at"] - cut_at < 10
    assert sims.cash.stacked_fen == 20_000
    pending = rt.cash_journal.pending()
    assert [(n.payment_reference, n.value_fen) for n in pending] == [(reference, 10_000)]
    assert rt.cash_journal.path.stat().st_mode & 0o777 == 0o600
    assert sims.cash.insert_note(50) in ("inhibited", "rejected")  # the acceptor takes nothing more
    with pytest.raises(DatabaseGone):  # what needs the database says so at once, nothing hangs
        rt.services.pay_bills(hh, (bill.bill_id,), r.PaymentMethod.CASH, "offline-cash-2", "en",
                              control=PaymentControl())

    cut.restore()
    back = _until(lambda: rt.offline.up and rt.offline.caught_up.is_set(), 15)
    assert back < 5.0
    assert rt.cash_journal.pending() == []
    assert _credit(factory, hh) - credit_before == 20_000  # both notes, each once, as the household's credit
    with unit_of_work(factory) as s:
        payment = s.scalars(select(Payment).where(Payment.reference == reference)).one()
        assert payment.status == str(PaymentStatus.FAILED) and payment.received_fen == 20_000
        assert payment.failure_code == PaymentCutOff.code
        assert s.get(Bill, int(bill.bill_id)).status == str(BillStatus.OPEN)
    with pytest.raises(PaymentCutOff) as retried:  # the same request again: told what happened, never charged
        rt.services.pay_bills(hh, (bill.bill_id,), r.PaymentMethod.CASH, "offline-cash", "en",
                              control=PaymentControl())
    assert retried.value.params["reference"] == reference
    rt.offline.catch_up()  # a second return, or a restart: nothing credited twice
    rt.cash_collector.recover()
    assert _credit(factory, hh) - credit_before == 20_000


def test_public_pages_come_from_the_local_copy_while_the_database_is_gone(kiosk, cut):
    rt, _sims, factory = kiosk
    now = rt.local_now()
    live = rt.services.current_notices(None, "en", now), rt.services.directory("en"), \
        rt.services.member_events(None, "en", now)
    assert live[0] and live[1], "the demo estate has notices and a directory"
    path = rt.public_cache.path
    assert path.stat().st_mode & 0o777 == 0o600
    cut.blackhole()
    _until(lambda: not rt.offline.up, 6)
    began = time.monotonic()
    kept = rt.services.current_notices(None, "en", now), rt.services.directory("en"), \
        rt.services.member_events(None, "en", now)
    assert time.monotonic() - began < 0.5
    assert kept == live
    status = rt.services.service_status()
    assert status.database_down and status.cached_at is not None
    assert status.feature_blocked(r.Feature.PAY_FEES) and not status.feature_blocked(r.Feature.NOTICES)
    cut.restore()
    _until(lambda: rt.offline.up, 6)
    assert not rt.services.service_status().database_down
