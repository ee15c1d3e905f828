"""Paying a bill by QR through the `alipay` driver against `kiosk sim alipay` (a real process): the intent and
the out_trade_no are stored first, the resident scans and pays, the signed notify settles the bill once and is
acknowledged with `success` (so Alipay does not deliver it again)."""
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
from tests.support.alipay_rig import Sim, alipay_process


@pytest.fixture(scope="module")
def alipay_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    with alipay_process(tmp_path_factory.mktemp("alipay-keys")) as running:
        yield running


@pytest.fixture
def alipay_qr(alipay_sim, listener, factory, mini, notifications) -> QrCollector:
    c = alipay_sim.credentials
    gateway = build_payment_gateway("alipay", c["gateway_url"], "", notify_url=listener.url, timeout_s=1.0,
                                    app_id=c["app_id"], app_private_key_file=c["app_private_key_path"],
                                    alipay_public_key_file=c["alipay_public_key_path"])
    collector = QrCollector(gateway, factory, mini.till, timeout_s=5.0, backoff=Backoff(0.1, 1.5, 0.5))
    notifications.target = collector.handle_notification
    return collector


def scanned(p) -> bool:  # type: ignore[no-untyped-def]
    return p.stage is Stage.SCAN_QR and bool(p.code_url) and p.can_cancel


def test_bill_paid_with_alipay_settles_once_from_the_notify(factory, mini, alipay_qr, alipay_sim, screen) -> None:
    def resident_pays(p) -> None:  # type: ignore[no-untyped-def]
        with unit_of_work(factory) as s:
            (oid,) = s.scalars(select(GatewayOrderRecord.order_id)).all()  # stored before the order was created
        assert p.code_url.startswith("https://qr.alipay.com/")
        alipay_sim.control(action="pay", out_trade_no=oid, notify="twice")

    screen.on(scanned, resident_pays)
    hh = mini.household_ids[0]
    out = payments.pay_bills(factory, mini.till, key="ali-1", household_id=hh, bill_ids=mini.bill_ids[hh][:1],
                             method=PaymentMethod.QR, language="en", move_money=alipay_qr.as_move_money(screen.control))
    assert out.status is PaymentStatus.SUCCEEDED
    with unit_of_work(factory) as s:
        payment = s.get(Payment, out.payment_id)
        assert payment.received_fen == 10_000
        cash_in = s.scalars(select(JournalEntry).where(JournalEntry.payment_id == payment.id,
                                                       JournalEntry.kind == str(EntryKind.CASH_IN))).all()
        assert len(cash_in) == 1
        assert s.get(Bill, mini.bill_ids[hh][0]).status == BillStatus.PAID
        (record,) = s.scalars(select(GatewayOrderRecord)).all()
        assert record.state == "paid" and record.gateway_txn
        assert ledger.balance(s, ledger.account(s, AccountKind.GATEWAY_CLEARING)) == 10_000
        assert not s.scalars(select(AuditEntry).where(AuditEntry.action.like("%rejected%"))).all()
    answers = [n["answer"] for n in alipay_sim.state()["notifications"]]
    assert answers and set(answers) == {"success"}
