"""The resident shows the app's payment code: the scanner simulator on a real pty under its DeviceSupervisor, the
wechatpay and alipay drivers against `kiosk sim wechatpay` / `kiosk sim alipay` as real processes, a real
database. The order is on record before anything is called; the scanner is armed only while the payment waits."""
from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from devices.gateway.registry import build_payment_gateway
from devices.scanner.driver import PaymentCodeScanner
from devices.scanner.registry import build_scanner
from devices.sim.scanner_sim import SimScanner, fresh_code
from kiosk.domain.terms import AccountKind, BillStatus, EntryKind, PaymentMethod, PaymentStatus
from kiosk.errors import PaymentCancelled, PaymentCodeDeclined, PaymentCodeNotConfirmed
from kiosk.payments.code_collector import CodeCollector
from kiosk.payments.control import Stage
from kiosk.payments.qr_collector import QrCollector
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Bill, GatewayOrderRecord, JournalEntry, Payment
from kiosk.runtime.events import EventBus
from kiosk.runtime.supervisor import DeviceSupervisor
from kiosk.runtime.worker import DeviceWorker
from kiosk.services import ledger, payments
from tests.support.alipay_rig import alipay_process
from tests.support.wechatpay_rig import sim_process

# CI runs these on SQLite (about 30 s); KIOSK_FULL_GATEWAY_TESTS=1 runs them on PostgreSQL too. The same ledger
# path on PostgreSQL is covered by test_void_refund.py and tests/app_runtime/test_two_networks.py.
pytestmark = pytest.mark.parametrize(
    "backend", ["sqlite", "postgres"] if os.environ.get("KIOSK_FULL_GATEWAY_TESTS") else ["sqlite"], indirect=True)

SCAN_NETWORK = {"wechatpay": "wechat", "alipay": "alipay"}
OTHER = {"wechatpay": "alipay", "alipay": "wechat"}


class Network:
    """One network's simulator process and how the resident behaves there."""

    def __init__(self, name: str, sim: Any) -> None:
        self.name, self.sim = name, sim

    def buyer(self, mode: str, pin_ms: int | None = None) -> None:
        if self.name == "wechatpay":
            self.sim.control(action="codepay", buyer=mode, pin_ms=pin_ms)
        else:
            self.sim.control(bar_code=mode, pin_ms=pin_ms)

    def gateway(self, notify_url: str = "") -> Any:
        extra = {"notify_url": notify_url} if notify_url else {}
        if self.name == "wechatpay":
            return build_payment_gateway("wechatpay", self.sim.url, "", timeout_s=2.0,
                                         wechatpay_credentials=str(self.sim.keys / "credentials.json"), **extra)
        c = self.sim.credentials
        return build_payment_gateway("alipay", c["gateway_url"], "", timeout_s=2.0, app_id=c["app_id"], **extra,
                                     app_private_key_file=c["app_private_key_path"],
                                     alipay_public_key_file=c["alipay_public_key_path"])


@pytest.fixture(scope="module")
def networks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Network]]:
    with sim_process(tmp_path_factory.mktemp("wx")) as wx, alipay_process(tmp_path_factory.mktemp("ali")) as ali:
        yield {"wechatpay": Network("wechatpay", wx), "alipay": Network("alipay", ali)}


@pytest.fixture
def scanner_sim() -> Iterator[SimScanner]:
    sim = SimScanner()
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def scanner(scanner_sim: SimScanner) -> Iterator[DeviceSupervisor[PaymentCodeScanner]]:
    device = build_scanner("serial", scanner_sim.path)
    sup = DeviceSupervisor(DeviceWorker("scanner", device), EventBus(), heartbeat=PaymentCodeScanner.idle_check)
    sup.start()
    assert sup.wait_available(5)
    yield sup
    sup.stop()


@pytest.fixture(params=["wechatpay", "alipay"])
def net(request: pytest.FixtureRequest, networks: dict[str, Network]) -> Iterator[Network]:
    network = networks[request.param]
    yield network
    network.buyer("pay")


@pytest.fixture
def codes(net, scanner, factory, mini) -> CodeCollector:  # type: ignore[no-untyped-def]
    gateway = net.gateway()
    qr = QrCollector(gateway, factory, mini.till, network=net.name)
    return CodeCollector(gateway, scanner, qr, factory, mini.till, network=net.name, scan_timeout_s=10,
                         confirm_timeout_s=2, poll_s=0.3)


def showing(p) -> bool:  # type: ignore[no-untyped-def]
    return p.stage is Stage.SHOW_CODE and p.can_cancel


def _pay(factory, mini, codes, screen, key: str):  # type: ignore[no-untyped-def]
    hh = mini.household_ids[0]
    return payments.pay_bills(factory, mini.till, key=key, household_id=hh, bill_ids=mini.bill_ids[hh][:1],
                              method=PaymentMethod.QR, language="en", move_money=codes.as_move_money(screen.control))


def _records(factory) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as s:
        return [(r.network, r.kind, r.state) for r in s.scalars(select(GatewayOrderRecord))]


def _nothing_charged(factory) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as s:
        assert ledger.balance(s, ledger.account(s, AccountKind.GATEWAY_CLEARING)) == 0
        assert not s.scalars(select(JournalEntry).where(JournalEntry.kind == str(EntryKind.CASH_IN))).all()


def test_a_code_paid_at_once_settles_the_bill_once_and_the_scanner_is_armed_only_meanwhile(
        net, codes, scanner, scanner_sim, factory, mini, screen) -> None:
    net.buyer("pay")
    armed_while_waiting = []

    def resident_shows_code(p) -> None:  # type: ignore[no-untyped-def]
        with unit_of_work(factory) as s:  # the intent and out_trade_no are on record before any call
            assert [(r.network, r.kind, r.state) for r in s.scalars(select(GatewayOrderRecord))] == [
                (net.name, "code", "pending")]
        armed_while_waiting.append(scanner.submit(lambda d: d.armed).result(2))
        scanner_sim.send(fresh_code(SCAN_NETWORK[net.name]))

    screen.on(showing, resident_shows_code)
    out = _pay(factory, mini, codes, screen, f"code-{net.name}")
    assert out.status is PaymentStatus.SUCCEEDED and armed_while_waiting == [True]
    assert not scanner.submit(lambda d: d.armed).result(2)
    assert _records(factory) == [(net.name, "code", "paid")]
    with unit_of_work(factory) as s:
        payment = s.get(Payment, out.payment_id)
        assert payment.received_fen == 10_000 and s.get(Bill, mini.bill_ids[mini.household_ids[0]][0]).status \
            == BillStatus.PAID
        assert ledger.balance(s, ledger.account(s, AccountKind.GATEWAY_CLEARING)) == 10_000
    assert Stage.SHOW_CODE in screen.stages() and Stage.CONFIRM_ON_PHONE not in screen.stages()


def test_garbled_and_other_network_codes_are_refused_and_the_right_code_then_pays(
        net, codes, scanner_sim, factory, mini, screen) -> None:
    net.buyer("pay")
    steps = iter([lambda: scanner_sim.send("12345"), lambda: scanner_sim.send(fresh_code(OTHER[net.name])),
                  lambda: scanner_sim.send(fresh_code(SCAN_NETWORK[net.name]))])

    def next_scan(p) -> None:  # type: ignore[no-untyped-def]
        step = next(steps, None)
        if step is not None:
            step()
            screen.on(lambda q: showing(q) and q.message != p.message, next_scan)

    screen.on(showing, next_scan)
    out = _pay(factory, mini, codes, screen, f"code-garbled-{net.name}")
    assert out.status is PaymentStatus.SUCCEEDED
    said = [dict(p.params).get("code") for p in screen.seen if p.stage is Stage.SHOW_CODE]
    assert "E6300" in said and "E6310" in said
    assert said.index("E6300") < said.index("E6310")
    assert _records(factory) == [(net.name, "code", "paid")]


def test_waiting_for_the_pin_shows_a_countdown_then_pays(net, codes, scanner_sim, factory, mini, screen) -> None:
    net.buyer("pin", pin_ms=700)
    screen.on(showing, lambda p: scanner_sim.send(fresh_code(SCAN_NETWORK[net.name])))
    out = _pay(factory, mini, codes, screen, f"code-pin-{net.name}")
    assert out.status is PaymentStatus.SUCCEEDED
    waiting = [p for p in screen.seen if p.stage is Stage.CONFIRM_ON_PHONE]
    assert waiting and waiting[0].expires_in_s == 2 and dict(waiting[0].params)["seconds"] == "2"
    assert _records(factory) == [(net.name, "code", "paid")]


def test_a_pin_that_never_comes_is_reversed_and_nothing_is_charged(net, codes, scanner_sim, factory, mini,
                                                                   screen) -> None:
    net.buyer("pin", pin_ms=None)
    screen.on(showing, lambda p: scanner_sim.send(fresh_code(SCAN_NETWORK[net.name])))
    started = time.monotonic()
    with pytest.raises(PaymentCodeNotConfirmed) as caught:
        _pay(factory, mini, codes, screen, f"code-never-{net.name}")
    assert caught.value.code == "E6312" and 1.5 < time.monotonic() - started < 10
    assert _records(factory) == [(net.name, "code", "reversed")]
    assert net.gateway().query(f"{_reference(factory)}-1").state.value in ("closed", "refunded")
    _nothing_charged(factory)


def test_cancel_while_waiting_for_the_phone_reverses_the_order(net, codes, scanner_sim, factory, mini,
                                                               screen) -> None:
    net.buyer("pin", pin_ms=None)
    screen.on(showing, lambda p: scanner_sim.send(fresh_code(SCAN_NETWORK[net.name])))
    screen.on(lambda p: p.stage is Stage.CONFIRM_ON_PHONE, lambda p: screen.control.cancel())
    with pytest.raises(PaymentCancelled):
        _pay(factory, mini, codes, screen, f"code-cancel-{net.name}")
    assert _records(factory) == [(net.name, "code", "reversed")]
    _nothing_charged(factory)


def test_a_declined_code_says_so_and_charges_nothing(net, codes, scanner_sim, factory, mini, screen) -> None:
    net.buyer("decline")
    screen.on(showing, lambda p: scanner_sim.send(fresh_code(SCAN_NETWORK[net.name])))
    with pytest.raises(PaymentCodeDeclined):
        _pay(factory, mini, codes, screen, f"code-declined-{net.name}")
    assert _records(factory) == [(net.name, "code", "closed")]
    _nothing_charged(factory)


def test_cancel_before_any_code_closes_the_record_and_disarms(net, codes, scanner, factory, mini, screen) -> None:
    screen.on(showing, lambda p: screen.control.cancel())
    with pytest.raises(PaymentCancelled):
        _pay(factory, mini, codes, screen, f"code-nocode-{net.name}")
    assert _records(factory) == [(net.name, "code", "closed")]
    assert not scanner.submit(lambda d: d.armed).result(2)


def _reference(factory) -> str:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as s:
        return s.scalars(select(Payment.reference)).one()


def test_recovery_reverses_an_order_left_waiting_for_the_pin_and_voids_one_never_sent(
        net, codes, factory, mini) -> None:
    hh = mini.household_ids[0]
    with unit_of_work(factory) as s:
        payment, _ = payments.start_bill_payment(s, mini.till, key=f"left-{net.name}", household_id=hh,
                                                 bill_ids=mini.bill_ids[hh][:1], method=PaymentMethod.QR)
        ref = payment.reference
        for n in (1, 2):
            s.add(GatewayOrderRecord(payment_id=payment.id, order_id=f"{ref}-{n}", amount_fen=10_000,
                                     state="pending", network=net.name, kind="code"))
    net.buyer("pin", pin_ms=None)  # the kiosk died while the resident had not confirmed yet
    assert codes.gateway.pay_with_code(f"{ref}-1", 10_000, "left", fresh_code(SCAN_NETWORK[net.name])) \
        .state.value == "pending"
    settled = {s.order_id: s.state for s in codes.recover()}
    assert settled == {f"{ref}-1": "reversed", f"{ref}-2": "void" if net.name == "wechatpay" else "reversed"}
    assert codes.recover() == []  # once
    _nothing_charged(factory)
