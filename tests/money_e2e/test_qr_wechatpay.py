"""Paying a bill by QR through the `wechatpay` driver against `kiosk sim wechatpay` (a real process): the intent
and the out_trade_no are stored first, the resident pays, the signed notification settles the bill once."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from devices.gateway.registry import build_payment_gateway
from kiosk.domain.terms import AccountKind, BillStatus, EntryKind, PaymentMethod, PaymentStatus
from kiosk.payments.control import Stage
from kiosk.payments.qr_collector import QrCollector
from kiosk.payments.qr_session import Backoff
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import AuditEntry, Bill, GatewayOrderRecord, JournalEntry, Payment
from kiosk.services import ledger, payments
from tests.support.wechatpay_rig import SimProcess, sim_process


@pytest.fixture(scope="module")
def wechat_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    with sim_process(tmp_path_factory.mktemp("wechatpay-keys")) as running:
        yield running


@pytest.fixture
def wechat_qr(wechat_sim, listener, factory, mini, notifications) -> QrCollector:
    gateway = build_payment_gateway("wechatpay", wechat_sim.url, "", notify_url=listener.url, timeout_s=1.0,
                                    wechatpay_credentials=str(wechat_sim.keys / "credentials.json"))
    collector = QrCollector(gateway, factory, mini.till, timeout_s=5.0, backoff=Backoff(0.1, 1.5, 0.5))
    notifications.target = collector.handle_notification
    return collector


def scanned(p) -> bool:  # type: ignore[no-untyped-def]
    return p.stage is Stage.SCAN_QR and bool(p.code_url) and p.can_cancel


def test_bill_paid_with_wechat_pay_settles_once_from_the_notification(factory, mini, wechat_qr, wechat_sim,
                                                                      screen) -> None:
    def resident_pays(p) -> None:  # type: ignore[no-untyped-def]
        with unit_of_work(factory) as s:
            (oid,) = s.scalars(select(GatewayOrderRecord.order_id)).all()  # stored before the order was created
        assert p.code_url.startswith("weixin://wxpay/bizpayurl?pr=")
        wechat_sim.control(action="pay", out_trade_no=oid, notify="twice", delay_s=0)

    screen.on(scanned, resident_pays)
    hh = mini.household_ids[0]
    out = payments.pay_bills(factory, mini.till, key="wx-1", household_id=hh, bill_ids=mini.bill_ids[hh][:1],
                             method=PaymentMethod.QR, language="en", move_money=wechat_qr.as_move_money(screen.control))
    assert out.status is PaymentStatus.SUCCEEDED
    with unit_of_work(factory) as s:
        payment = s.get(Payment, out.payment_id)
        assert payment.received_fen == 10_000
        cash_in = s.scalars(select(JournalEntry).where(JournalEntry.payment_id == payment.id,
                                                       JournalEntry.kind == str(EntryKind.CASH_IN))).all()
        assert len(cash_in) == 1
        assert s.get(Bill, mini.bill_ids[hh][0]).status == BillStatus.PAID
        (record,) = s.scalars(select(GatewayOrderRecord)).all()
        assert record.state == "paid" and record.gateway_txn.startswith("4200")
        assert ledger.balance(s, ledger.account(s, AccountKind.GATEWAY_CLEARING)) == 10_000
        assert not s.scalars(select(AuditEntry).where(AuditEntry.action.like("%rejected%"))).all()
