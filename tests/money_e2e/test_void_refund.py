"""A void of a QR payment refunds it at the network that took it (kiosk.payments.void_refunds): the refund id and
the REFUND entry are committed with the void before the call, the refund is asked again with the same id when the
gateway did not answer (recover), and a refused refund leaves the amount as the household's credit. Against
`kiosk sim wechatpay` and `kiosk sim alipay` as real processes, SQLite and PostgreSQL."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from kiosk.domain.terms import AccountKind, BillStatus, EntryKind, PaymentMethod
from kiosk.payments.control import Stage
from kiosk.payments.qr_collector import QrCollector
from kiosk.payments.qr_session import Backoff
from kiosk.payments.void_refunds import DONE, PENDING, REFUSED, VoidRefunds
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Bill, GatewayOrderRecord, JournalEntry
from kiosk.services import ledger, payments
from tests.money_e2e.test_payment_code import Network
from tests.support.alipay_rig import alipay_process
from tests.support.wechatpay_rig import sim_process


@pytest.fixture(scope="module")
def sims(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Network]]:
    with sim_process(tmp_path_factory.mktemp("wx")) as wx, alipay_process(tmp_path_factory.mktemp("ali")) as ali:
        yield {"wechatpay": Network("wechatpay", wx), "alipay": Network("alipay", ali)}


@pytest.fixture(params=["wechatpay", "alipay"])
def net(request: pytest.FixtureRequest, sims: dict[str, Network]) -> Network:
    return sims[request.param]


def _fail_next(net: Network, count: int) -> None:
    if net.name == "wechatpay":
        net.sim.control(action="fail", count=count, status=500)
    else:
        net.sim.control(fault="5xx", fault_count=count)


def _paid_by_qr(net: Network, factory, mini, listener, notifications, screen) -> tuple[Any, str, Any]:  # type: ignore[no-untyped-def]
    """A bill paid by QR on `net` through the collector: (the gateway, the receipt number, the order id)."""
    gateway = net.gateway(notify_url=listener.url)
    qr = QrCollector(gateway, factory, mini.till, timeout_s=10.0, backoff=Backoff(0.1, 1.5, 0.3), network=net.name)
    notifications.target = qr.handle_notification

    def resident_pays(p) -> None:  # type: ignore[no-untyped-def]
        with unit_of_work(factory) as s:
            oid = s.scalars(select(GatewayOrderRecord.order_id).where(GatewayOrderRecord.state == "pending")).one()
        if net.name == "wechatpay":
            net.sim.control(action="pay", out_trade_no=oid, notify="never")
        else:
            net.sim.control(action="pay", out_trade_no=oid)

    screen.on(lambda p: p.stage is Stage.SCAN_QR and bool(p.code_url) and p.can_cancel, resident_pays)
    hh = mini.household_ids[0]
    out = payments.pay_bills(factory, mini.till, key=f"void-{net.name}", household_id=hh,
                             bill_ids=mini.bill_ids[hh][:1], method=PaymentMethod.QR, language="en",
                             move_money=qr.as_move_money(screen.control))
    with unit_of_work(factory) as s:
        oid = s.scalars(select(GatewayOrderRecord.order_id).where(GatewayOrderRecord.state == "paid")).one()
    return gateway, out.receipt_number, oid


def _books(factory, mini) -> tuple[int, int, list[str]]:  # type: ignore[no-untyped-def]
    """(clearing balance, household credit, refund memos)."""
    with unit_of_work(factory) as s:
        clearing = ledger.balance(s, ledger.account(s, AccountKind.GATEWAY_CLEARING))
        credit = ledger.liability_balance(s, ledger.account(s, AccountKind.CREDIT,
                                                            household_id=mini.household_ids[0]))
        memos = list(s.scalars(select(JournalEntry.memo).where(JournalEntry.kind == str(EntryKind.REFUND))))
    return clearing, credit, memos


def _state(factory) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as s:
        record = s.scalars(select(GatewayOrderRecord)).one()
        return record.state, record.refund_id


def test_a_voided_qr_payment_is_refunded_on_its_network_once(net, factory, mini, listener, notifications,
                                                              screen) -> None:
    gateway, receipt, oid = _paid_by_qr(net, factory, mini, listener, notifications, screen)
    voider = VoidRefunds({net.name: gateway}, factory, mini.till)
    outcome = voider.void(number=int(receipt), reason="wrong bill", actor="staff:test", language="en")
    assert outcome.notice == "" and outcome.refunds == ((f"{oid}-void", DONE),)
    assert outcome.result.returned_to == "gateway"
    assert "Refunded to " + ("WeChat Pay." if net.name == "wechatpay" else "Alipay.") in outcome.result.document.notes
    assert _state(factory) == (DONE, f"{oid}-void")
    assert _books(factory, mini) == (0, 0, [f"gateway refund {oid}-void"])  # in 100.00, out 100.00: balanced
    with unit_of_work(factory) as s:
        assert s.get(Bill, mini.bill_ids[mini.household_ids[0]][0]).status == BillStatus.OPEN
    assert gateway.query(oid).state.value == "refunded"
    again = voider.void(number=int(receipt), reason="wrong bill", actor="staff:test", language="en")
    assert again.result.replayed and again.refunds == ()  # the same void asked again: nothing refunded twice
    assert _books(factory, mini) == (0, 0, [f"gateway refund {oid}-void"])
    assert voider.recover() == []


def test_a_gateway_that_does_not_answer_leaves_the_refund_pending_until_recover_sends_it(
        net, factory, mini, listener, notifications, screen) -> None:
    gateway, receipt, oid = _paid_by_qr(net, factory, mini, listener, notifications, screen)
    voider = VoidRefunds({net.name: gateway}, factory, mini.till)
    _fail_next(net, 4)  # the refund and the outcome query both meet a 5xx
    outcome = voider.void(number=int(receipt), reason="double payment", actor="staff:test", language="en")
    assert outcome.refunds == ((f"{oid}-void", PENDING),) and "(E6314)" in outcome.notice
    assert _state(factory) == (PENDING, f"{oid}-void")
    assert _books(factory, mini) == (0, 0, [f"gateway refund {oid}-void"])  # the intent is on the books
    _fail_next(net, 0)
    assert voider.recover() == [(f"{oid}-void", DONE)]
    assert voider.recover() == []  # once
    assert _state(factory) == (DONE, f"{oid}-void")
    assert gateway.query(oid).state.value == "refunded"
    assert _books(factory, mini) == (0, 0, [f"gateway refund {oid}-void"])


def test_a_refused_refund_keeps_the_amount_as_the_households_credit(net, factory, mini, listener, notifications,
                                                                   screen) -> None:
    gateway, receipt, oid = _paid_by_qr(net, factory, mini, listener, notifications, screen)
    gateway.refund(oid, f"OFFICE-{oid}", 10_000)  # the office refunded it by hand already: nothing left to refund
    voider = VoidRefunds({net.name: gateway}, factory, mini.till)
    outcome = voider.void(number=int(receipt), reason="refunded twice?", actor="staff:test", language="en")
    assert outcome.refunds == ((f"{oid}-void", REFUSED),) and "(E6313)" in outcome.notice
    assert _state(factory)[0] == REFUSED
    clearing, credit, memos = _books(factory, mini)
    assert (clearing, credit) == (10_000, 10_000) and memos == [f"gateway refund {oid}-void"]
    with unit_of_work(factory) as s:  # the REFUND entry reversed, not deleted
        assert s.scalars(select(JournalEntry).where(JournalEntry.kind == str(EntryKind.VOID),
                                                    JournalEntry.memo.like("refund % refused"))).one()
