"""A kiosk SIGKILLed between the network's answer and storing it, for the wechatpay and alipay drivers, the kiosk's
code (Native / precreate) and the resident's payment code: restart, recover() asks the network and settles exactly
once (money once or not at all; a payment code left USERPAYING is reversed, never charged twice).

The kiosk runs in a forked child with the crash harness's kill points (tests/crash/killpoints.KillPoints): the
SDKs' HTTP calls (requests for WeChat Pay, urllib for Alipay) are points labelled with the API called, and the child
SIGKILLs itself right after the named answer came back, before the kiosk could write anything about it.
`kiosk sim wechatpay` / `kiosk sim alipay` run as real processes; the database is a real SQLite file."""
from __future__ import annotations

import multiprocessing
import os
import re
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from devices.sim.scanner_sim import SimScanner, fresh_code
from kiosk.domain.terms import EntryKind, PaymentMethod, PaymentStatus
from kiosk.payments.code_collector import CodeCollector
from kiosk.payments.control import PaymentControl, Stage
from kiosk.payments.qr_collector import QrCollector
from kiosk.payments.qr_session import Backoff
from kiosk.persistence.db import make_engine, unit_of_work
from kiosk.persistence.models import GatewayOrderRecord, JournalEntry, Payment
from kiosk.services import payments
from tests.crash.killpoints import KillPoints
from tests.money_e2e.test_payment_code import SCAN_NETWORK, Network
from tests.support import estate
from tests.support.alipay_rig import alipay_process
from tests.support.chain_key import bound_factory
from tests.support.wechatpay_rig import sim_process

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

NOTIFY = "http://127.0.0.1:9/notify"  # nobody listens: the answer to the calls is what settles, not a notification
# the answer after which the child dies, per network and step
ANSWERS = {
    ("wechatpay", "create"): "gateway POST /v3/pay/transactions/native",
    ("wechatpay", "query"): "gateway GET /v3/pay/transactions/out-trade-no/{id}",
    ("wechatpay", "codepay"): "gateway POST /v3/pay/transactions/codepay",
    ("alipay", "create"): "gateway alipay.trade.precreate",
    ("alipay", "query"): "gateway alipay.trade.query",
    ("alipay", "codepay"): "gateway alipay.trade.pay",
}
_ID = re.compile(r"/out-trade-no/[^/?]+")


class AnswerKill(KillPoints):
    """The harness's kill points, dying at the first 'after' of one label (not at a number: the point's index
    depends on how many polls ran before it, its label does not)."""

    def __init__(self, label: str, on_kill: Any) -> None:
        super().__init__(0, on_kill)
        self.label = label

    def hit(self, side: str, label: str) -> None:
        super().hit(side, label)
        if self.armed and side == "after" and label == self.label:
            self.on_kill(len(self.labels), label)
            os.kill(os.getpid(), 9)


def _install_gateway_points(points: KillPoints) -> None:
    """Both SDKs' transports as kill points, labelled with the API they call."""
    import requests

    original_send = requests.Session.send

    def send(self: Any, request: Any, **kwargs: Any) -> Any:
        path = urllib.parse.urlsplit(request.url).path
        label = f"gateway {request.method} {_ID.sub('/out-trade-no/{id}', path)}"
        points.hit("before", label)
        try:
            return original_send(self, request, **kwargs)
        finally:
            points.hit("after", label)

    requests.Session.send = send  # type: ignore[method-assign]
    original_urlopen = urllib.request.urlopen

    def urlopen(request: Any, *args: Any, **kwargs: Any) -> Any:
        url = request.full_url if isinstance(request, urllib.request.Request) else str(request)
        parts = urllib.parse.urlsplit(url)
        method = urllib.parse.parse_qs(parts.query).get("method", [""])[0]
        label = f"gateway {method or parts.path}"
        points.hit("before", label)
        try:
            return original_urlopen(request, *args, **kwargs)
        finally:
            points.hit("after", label)

    urllib.request.urlopen = urlopen  # type: ignore[assignment]
    import alipay  # python-alipay-sdk calls the urlopen it imported into its own module

    alipay.urlopen = urlopen


class _Scanner:
    """The scanner's supervisor, as the CodeCollector sees it, over the real driver on a pty (in the child)."""

    def __init__(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from devices.scanner.registry import build_scanner

        self.sim = SimScanner()
        self.sim.start()
        self.device = build_scanner("serial", self.sim.path)
        self.device.open()
        self.pool = ThreadPoolExecutor(1)

    def submit(self, fn: Any) -> Any:
        return self.pool.submit(fn, self.device)


def _kiosk(net: Network, db_url: str, till: Any, household: int, bills: list[int], step: str, conn: Any) -> None:
    """The child: one QR payment that dies right after the network's answer named by `step`."""
    points = AnswerKill(ANSWERS[(net.name, step)], lambda n, label: conn.send(("KILLED", label)))
    _install_gateway_points(points)
    factory = bound_factory(make_engine(db_url))
    gateway = net.gateway(notify_url=NOTIFY)
    qr = QrCollector(gateway, factory, till, timeout_s=20, backoff=Backoff(0.2, 1.5, 0.5), network=net.name)

    def resident(progress: Any) -> None:  # runs on the collector's thread, before its next call
        if progress.stage is Stage.SCAN_QR and progress.code_url and step == "query":
            with unit_of_work(factory) as s:
                oid = s.scalars(select(GatewayOrderRecord.order_id)).one()
            if net.name == "wechatpay":
                net.sim.control(action="pay", out_trade_no=oid, notify="never")
            else:
                net.sim.control(action="pay", out_trade_no=oid)
        if progress.stage is Stage.SHOW_CODE and not scanner.sim.sent:
            scanner.sim.send(fresh_code(SCAN_NETWORK[net.name]))

    scanner = _Scanner() if step == "codepay" else None
    mover = (CodeCollector(gateway, scanner, qr, factory, till, network=net.name, confirm_timeout_s=20, poll_s=0.3)
             if scanner is not None else qr)
    points.armed = True
    payments.pay_bills(factory, till, key="crash", household_id=household, bill_ids=bills,
                       method=PaymentMethod.QR, language="en",
                       move_money=mover.as_move_money(PaymentControl(resident)))
    conn.send(("DONE", points.labels))  # never reached when the kill works


@pytest.fixture(scope="module")
def sims(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Network]]:
    with sim_process(tmp_path_factory.mktemp("wx")) as wx, alipay_process(tmp_path_factory.mktemp("ali")) as ali:
        ali.control(notify="never")
        yield {"wechatpay": Network("wechatpay", wx), "alipay": Network("alipay", ali)}


def _killed_at(net: Network, db_url: str, mini: Any, step: str) -> str:
    hh = mini.household_ids[0]
    parent, child = multiprocessing.get_context("fork").Pipe()
    proc = multiprocessing.get_context("fork").Process(
        target=_kiosk, args=(net, db_url, mini.till, hh, mini.bill_ids[hh][:1], step, child))
    proc.start()
    proc.join(60)
    assert proc.exitcode == -9, (proc.exitcode, parent.recv() if parent.poll() else "")
    kind, label = parent.recv()
    assert kind == "KILLED"
    return label


def _after_restart(net: Network, factory: Any, mini: Any) -> tuple[QrCollector, CodeCollector]:
    gateway = net.gateway(notify_url=NOTIFY)
    qr = QrCollector(gateway, factory, mini.till, backoff=Backoff(0.1, 1.5, 0.3), network=net.name)
    return qr, CodeCollector(gateway, None, qr, factory, mini.till, network=net.name)  # type: ignore[arg-type]


def _money(factory: Any) -> tuple[int, int, list[str]]:
    """(CASH_IN entries, fen received by the payment, the order records' states)."""
    with unit_of_work(factory) as s:
        cash_in = s.scalar(select(func.count()).select_from(JournalEntry)
                           .where(JournalEntry.kind == str(EntryKind.CASH_IN))) or 0
        received = s.scalars(select(Payment.received_fen)).one()
        states = list(s.scalars(select(GatewayOrderRecord.state).order_by(GatewayOrderRecord.id)))
    return cash_in, received, states


def _retry_settles_once(net: Network, factory: Any, mini: Any, qr: QrCollector) -> None:
    hh = mini.household_ids[0]
    out = payments.pay_bills(factory, mini.till, key="crash", household_id=hh, bill_ids=mini.bill_ids[hh][:1],
                             method=PaymentMethod.QR, language="en", move_money=qr.as_move_money(PaymentControl()))
    assert out.status is PaymentStatus.SUCCEEDED and out.receipt_number
    assert _money(factory)[:2] == (1, 10_000)  # no second order, no second entry


@pytest.mark.parametrize("network", ["wechatpay", "alipay"])
def test_killed_after_the_order_was_created_the_restart_closes_it_and_nothing_is_charged(
        network, sims, db_url, factory) -> None:
    net = sims[network]
    with unit_of_work(factory) as s:
        mini = estate.build(s, households=1, bills_each=1)
    assert _killed_at(net, db_url, mini, "create") == ANSWERS[(network, "create")]  # right after its answer
    assert _money(factory) == (0, 0, ["pending"])  # the intent was on record; the answer never was
    qr, codes = _after_restart(net, factory, mini)
    assert [s.state for s in qr.recover()] == ["closed"] and qr.recover() == []
    assert codes.recover() == []
    assert _money(factory) == (0, 0, ["closed"])


@pytest.mark.parametrize("network", ["wechatpay", "alipay"])
def test_killed_after_the_paid_answer_the_restart_credits_it_once_and_a_retry_settles(
        network, sims, db_url, factory) -> None:
    net = sims[network]
    with unit_of_work(factory) as s:
        mini = estate.build(s, households=1, bills_each=1)
    _killed_at(net, db_url, mini, "query")
    assert _money(factory) == (0, 0, ["pending"])  # paid at the network, not yet on our books
    qr, _codes = _after_restart(net, factory, mini)
    assert [s.state for s in qr.recover()] == ["paid"] and qr.recover() == []
    assert _money(factory) == (1, 10_000, ["paid"])
    _retry_settles_once(net, factory, mini, qr)


@pytest.mark.parametrize("network", ["wechatpay", "alipay"])
def test_killed_while_a_payment_code_waited_for_the_pin_the_restart_reverses_it(
        network, sims, db_url, factory) -> None:
    net = sims[network]
    net.buyer("pin", pin_ms=None)
    with unit_of_work(factory) as s:
        mini = estate.build(s, households=1, bills_each=1)
    try:
        _killed_at(net, db_url, mini, "codepay")
    finally:
        net.buyer("pay")
    assert _money(factory) == (0, 0, ["pending"])
    qr, codes = _after_restart(net, factory, mini)
    assert qr.recover() == []  # a payment-code order is the code collector's
    assert [s.state for s in codes.recover()] == ["reversed"] and codes.recover() == []
    assert _money(factory) == (0, 0, ["reversed"])


@pytest.mark.parametrize("network", ["wechatpay", "alipay"])
def test_killed_after_a_payment_code_was_charged_the_restart_credits_it_once(network, sims, db_url,
                                                                             factory) -> None:
    net = sims[network]
    net.buyer("pay")
    with unit_of_work(factory) as s:
        mini = estate.build(s, households=1, bills_each=1)
    _killed_at(net, db_url, mini, "codepay")
    assert _money(factory) == (0, 0, ["pending"])
    qr, codes = _after_restart(net, factory, mini)
    assert [s.state for s in codes.recover()] == ["paid"] and codes.recover() == []
    assert _money(factory) == (1, 10_000, ["paid"])
    _retry_settles_once(net, factory, mini, qr)
