"""Paying bills by QR through the sandbox gateway over HTTP, with notifications, on a real database."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from kiosk.domain.terms import AccountKind, BillStatus, EntryKind, PaymentMethod, PaymentStatus
from kiosk.errors import GatewayError, PaymentCancelled, PaymentExpired
from kiosk.payments.control import Stage
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import AuditEntry, Bill, GatewayOrderRecord, JournalEntry, Payment
from kiosk.services import ledger, payments


def pay(mini, factory, qr, screen, key="qr-1"):
    hh = mini.household_ids[0]
    return payments.pay_bills(factory, mini.till, key=key, household_id=hh, bill_ids=mini.bill_ids[hh][:1],
                              method=PaymentMethod.QR, language="en", move_money=qr.as_move_money(screen.control))


def scanned(p):
    return p.stage is Stage.SCAN_QR and bool(p.code_url) and p.can_cancel


def order_id(p):
    return p.code_url.rsplit("/", 1)[-1]


def records(factory):
    with unit_of_work(factory) as s:
        return [(r.order_id, r.state, r.gateway_txn) for r in s.scalars(select(GatewayOrderRecord)
                                                                        .order_by(GatewayOrderRecord.id))]


def clearing(factory):
    with unit_of_work(factory) as s:
        return ledger.balance(s, ledger.account(s, AccountKind.GATEWAY_CLEARING))


def wait_for(check, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def test_paid_by_qr_settles_the_bill_once_although_the_notification_comes_twice(factory, mini, qr, gateway_sim,
                                                                                 screen):
    screen.on(scanned, lambda p: gateway_sim.pay(order_id(p), notify="twice", delay_s=0))
    out = pay(mini, factory, qr, screen)
    assert out.status is PaymentStatus.SUCCEEDED
    first = next(p for p in screen.seen if scanned(p))
    assert first.expires_in_s > 0 and first.code_url.startswith(gateway_sim.url)
    # Both copies of the notification arrive (one may after the payment finished): still one entry.
    wait_for(lambda: sum(1 for d in gateway_sim.deliveries if d["status"] == 200) >= 2)
    with unit_of_work(factory) as s:
        p = s.get(Payment, out.payment_id)
        assert p.received_fen == 10_000
        assert len(s.scalars(select(JournalEntry).where(JournalEntry.payment_id == p.id,
                                                        JournalEntry.kind == str(EntryKind.CASH_IN))).all()) == 1
        assert s.get(Bill, mini.bill_ids[mini.household_ids[0]][0]).status == BillStatus.PAID
    (oid, state, txn), = records(factory)
    assert state == "paid" and txn.startswith("SANDBOX")
    assert clearing(factory) == 10_000


def test_expired_order_is_closed_at_the_gateway_before_the_person_is_told(factory, mini, gateway, gateway_sim,
                                                                           notifications, screen):
    from kiosk.payments.qr_collector import QrCollector
    from kiosk.payments.qr_session import Backoff

    qr = QrCollector(gateway, factory, mini.till, timeout_s=0.6, backoff=Backoff(0.1, 1.5, 0.3))
    notifications.target = qr.handle_notification
    with pytest.raises(PaymentExpired):
        pay(mini, factory, qr, screen)
    (oid, state, _), = records(factory)
    assert state == "expired" and gateway_sim.orders[oid].state == "closed"
    assert not screen.seen[-1].can_cancel
    with unit_of_work(factory) as s:
        assert s.scalars(select(Payment)).one().status == PaymentStatus.FAILED
    assert clearing(factory) == 0


def test_cancelled_then_paid_late_is_refunded_and_on_the_books(factory, mini, qr, gateway_sim, screen):
    gateway_sim.accept_late_payments = True  # the resident's app had already sent the payment
    screen.on(scanned, lambda p: screen.control.cancel())
    with pytest.raises(PaymentCancelled):
        pay(mini, factory, qr, screen)
    (oid, state, _), = records(factory)
    assert state == "closed" and gateway_sim.orders[oid].state == "closed"
    gateway_sim.pay(oid, notify="once", delay_s=0)
    wait_for(lambda: records(factory)[0][1] == "refunded")
    assert gateway_sim.orders[oid].state == "refunded"
    assert [r["refund_id"] for r in gateway_sim.refunds] == [f"{oid}-late"]
    with unit_of_work(factory) as s:
        entries = s.scalars(select(JournalEntry).join(Payment, Payment.id == JournalEntry.payment_id)
                            .where(JournalEntry.kind.in_([str(EntryKind.CASH_IN), str(EntryKind.REFUND)]))).all()
        assert sorted(e.kind for e in entries) == ["cash_in", "refund"]
        assert s.scalars(select(AuditEntry).where(AuditEntry.action == "payment.late_refunded")).one()
    assert clearing(factory) == 0


def test_cancelled_then_paid_late_can_be_credited_instead(factory, mini, gateway, gateway_sim, notifications, screen):
    from kiosk.payments.qr_collector import QrCollector
    from kiosk.payments.qr_session import Backoff, LateAction

    qr = QrCollector(gateway, factory, mini.till, timeout_s=5, backoff=Backoff(0.1, 1.5, 0.3),
                     late_action=LateAction.CREDIT)
    notifications.target = qr.handle_notification
    gateway_sim.accept_late_payments = True
    screen.on(scanned, lambda p: screen.control.cancel())
    with pytest.raises(PaymentCancelled):
        pay(mini, factory, qr, screen)
    (oid, _, _), = records(factory)
    gateway_sim.pay(oid, notify="twice", delay_s=0)
    wait_for(lambda: records(factory)[0][1] == "credited")
    wait_for(lambda: sum(1 for d in gateway_sim.deliveries if d["status"] == 200) >= 2)
    with unit_of_work(factory) as s:
        credit = ledger.account(s, AccountKind.CREDIT, household_id=mini.household_ids[0])
        assert ledger.liability_balance(s, credit) == 10_000
    assert clearing(factory) == 10_000


def test_forged_notification_is_rejected_audited_and_changes_nothing(factory, mini, qr, gateway_sim, screen):
    def forge_then_cancel(p):
        gateway_sim.send_forged_notification(order_id(p))
        screen.control.cancel()
    screen.on(scanned, forge_then_cancel)
    with pytest.raises(PaymentCancelled):
        pay(mini, factory, qr, screen)
    assert [d["status"] for d in gateway_sim.deliveries] == [401]
    (oid, state, _), = records(factory)
    with unit_of_work(factory) as s:
        row = s.scalars(select(AuditEntry).where(AuditEntry.action == "gateway.notification_rejected")).one()
        assert row.subject == oid
    assert state == "closed" and clearing(factory) == 0


def test_gateway_that_does_not_answer_fails_the_payment_and_recover_closes_the_order_later(
        factory, mini, qr, gateway_sim, screen):
    gateway_sim.stall_s = 1.5  # longer than the client's timeout: the create is lost in flight
    with pytest.raises(GatewayError):
        pay(mini, factory, qr, screen)
    (oid, state, _), = records(factory)
    assert state == "pending"  # on record before the gateway was called; not known to be closed
    gateway_sim.stall_s = 0
    wait_for(lambda: oid in gateway_sim.orders)  # the stalled create did land at the gateway
    settled = qr.recover()
    assert [(s.order_id, s.state) for s in settled] == [(oid, "closed")]
    assert gateway_sim.orders[oid].state == "closed"
    assert qr.recover() == []


def test_queries_failing_for_a_while_still_find_the_payment(factory, mini, qr, gateway_sim, screen):
    def pay_while_down(p):
        gateway_sim.fail_requests = 3
        gateway_sim.pay(order_id(p), notify="never")
    screen.on(scanned, pay_while_down)
    out = pay(mini, factory, qr, screen)
    assert out.status is PaymentStatus.SUCCEEDED and records(factory)[0][1] == "paid"


def test_recording_the_same_gateway_transaction_twice_posts_once(factory, mini):
    hh = mini.household_ids[0]
    with unit_of_work(factory) as s:
        payment, _ = payments.start_bill_payment(s, mini.till, key="txn", household_id=hh,
                                                 bill_ids=mini.bill_ids[hh][:1], method=PaymentMethod.QR)
        assert payments.record_gateway_paid(s, mini.till, payment, 10_000, "SANDBOX1") is True
        assert payments.record_gateway_paid(s, mini.till, payment, 10_000, "SANDBOX1") is False
        assert payment.received_fen == 10_000
    assert clearing(factory) == 10_000


def test_a_duplicate_notification_read_with_its_payment_posts_nothing(factory, mini):
    """The collector reads whether the transaction was entered with the payment (arrivals.arriving_to's
    gateway_txn): the second notification, in a transaction of its own, finds it there and posts nothing."""
    hh = mini.household_ids[0]
    with unit_of_work(factory) as s:
        payment, _ = payments.start_bill_payment(s, mini.till, key="dup", household_id=hh,
                                                 bill_ids=mini.bill_ids[hh][:1], method=PaymentMethod.QR)
    for expected in (True, False):
        with unit_of_work(factory) as s:
            p = payments.arriving_to(s, payment.id, gateway_txn="SANDBOX2")
            assert payments.record_gateway_paid(s, mini.till, p, 10_000, "SANDBOX2") is expected
    with unit_of_work(factory) as s:
        assert s.get(Payment, payment.id).received_fen == 10_000
    assert clearing(factory) == 10_000


def test_cancel_while_the_gateway_is_briefly_down_retries_the_close_before_telling_the_person(factory, mini, qr,
                                                                                              gateway_sim, screen):
    def cancel_during_outage(_p):
        gateway_sim.fail_requests = 2
        screen.control.cancel()
    screen.on(scanned, cancel_during_outage)
    with pytest.raises(PaymentCancelled):
        pay(mini, factory, qr, screen)
    (oid, state, _), = records(factory)
    assert state == "closed" and gateway_sim.orders[oid].state == "closed"


def test_cancel_while_the_gateway_stays_down_leaves_the_order_for_recover(factory, mini, gateway, gateway_sim,
                                                                          notifications, screen):
    from kiosk.payments.qr_collector import QrCollector
    from kiosk.payments.qr_session import Backoff

    qr = QrCollector(gateway, factory, mini.till, timeout_s=5, backoff=Backoff(0.1, 1.5, 0.2), close_grace_s=0.5)
    notifications.target = qr.handle_notification

    def cancel_during_outage(_p):
        gateway_sim.fail_requests = 1000
        screen.control.cancel()
    screen.on(scanned, cancel_during_outage)
    with pytest.raises(GatewayError):
        pay(mini, factory, qr, screen)
    (oid, state, _), = records(factory)
    assert state == "given_up" and dict(screen.seen[-1].params)["reference"] == oid
    gateway_sim.fail_requests = 0
    gateway_sim.accept_late_payments = True
    gateway_sim.pay(oid, notify="never")  # the person paid anyway during the outage
    assert [(o.order_id, o.state) for o in qr.recover()] == [(oid, "refunded")]
    assert clearing(factory) == 0 and gateway_sim.orders[oid].state == "refunded"
