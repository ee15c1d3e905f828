"""After a day of cash and QR payments, the daily settlement by method matches the cash box on the ledger and
the gateway's own records (/v1/records)."""
from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from devices.gateway import signing
from kiosk.domain.terms import AccountKind, PaymentMethod, PaymentStatus
from kiosk.errors import PaymentCancelled
from kiosk.persistence.db import unit_of_work
from kiosk.services import ledger, payments
from kiosk.services.settlement import DEFAULT_TZ, daily_settlement

from .conftest import SECRET, Screen, feed_notes, pay_code, showing_code


def balances(factory, mini):
    with unit_of_work(factory) as s:
        box = ledger.balance(s, ledger.account(s, AccountKind.CASH_BOX, kiosk_id=mini.till.kiosk_id))
        clearing = ledger.balance(s, ledger.account(s, AccountKind.GATEWAY_CLEARING))
        return box, clearing


def test_settlement_by_method_matches_the_cash_box_and_the_gateway_records(factory, mini, cash, cash_sim, qr,
                                                                           gateway, gateway_sim):
    box0, clearing0 = balances(factory, mini)
    a, b = mini.household_ids
    bills = mini.bill_ids

    def bills_of(hh, i, method, screen):
        mover = (cash if method is PaymentMethod.CASH else qr).as_move_money(screen.control)
        return payments.pay_bills(factory, mini.till, key=f"day-{hh}-{i}-{method}", household_id=hh,
                                  bill_ids=[bills[hh][i]], method=method, language="en", move_money=mover)

    s1 = Screen()  # exact cash: 100.00
    feed_notes(s1, cash_sim, 100)
    assert bills_of(a, 0, PaymentMethod.CASH, s1).status is PaymentStatus.SUCCEEDED
    s2 = Screen()  # cash with consent to overpay: 112.34 due, 100 + 20 given, 7.66 credited
    feed_notes(s2, cash_sim, 100, 20)
    s2.on(lambda p: p.stage.value == "confirm_overpay", lambda _p: s2.control.answer_overpay(True))
    assert bills_of(a, 1, PaymentMethod.CASH, s2).status is PaymentStatus.SUCCEEDED
    s3 = Screen()  # cash cancelled after 10.00: stays as credit
    feed_notes(s3, cash_sim, 10)
    s3.on(lambda p: p.received_fen == 1000, lambda _p: s3.control.cancel())
    with pytest.raises(PaymentCancelled):
        bills_of(a, 2, PaymentMethod.CASH, s3)
    s4 = Screen()  # QR paid: 100.00
    s4.on(showing_code, pay_code(gateway_sim))
    assert bills_of(b, 0, PaymentMethod.QR, s4).status is PaymentStatus.SUCCEEDED
    s5 = Screen()  # QR cancelled, then paid late: refunded
    gateway_sim.accept_late_payments = True
    s5.on(showing_code, lambda _p: s5.control.cancel())
    with pytest.raises(PaymentCancelled):
        bills_of(b, 1, PaymentMethod.QR, s5)
    late = next(o for o in gateway_sim.orders.values() if o.state == "closed")
    gateway_sim.pay(late.order_id, notify="never")
    assert qr.recover() == []  # nothing open on record: the late money is found by its (delayed) notification
    body = gateway_sim.notification_body(gateway_sim.orders[late.order_id])
    qr.handle_notification(body, signing.sign_headers(signing.as_key(SECRET), body, time.time()))
    box1, clearing1 = balances(factory, mini)
    today = datetime.now(ZoneInfo(DEFAULT_TZ)).date()
    with unit_of_work(factory) as s:
        day = daily_settlement(s, mini.till.site_id, today)
    by_method = dict(day.by_method)
    credits = {m: sum(c.credited_fen for c in day.credits if c.method == m) for m in ("cash", "qr")}
    assert by_method["cash"] == 10_000 + 11_234 and credits["cash"] == 766 + 1000
    assert box1 - box0 == by_method["cash"] + credits["cash"] == cash_sim.stacked_fen
    records = gateway.records()
    taken = sum(o["amount_fen"] for o in records["orders"] if o["state"] in ("paid", "refunded"))
    refunded = sum(r["amount_fen"] for r in records["refunds"])
    assert (taken, refunded) == (10_000 + 11_234, 11_234)
    assert clearing1 - clearing0 == taken - refunded == by_method["qr"] + credits["qr"]

