"""Paying bills from the card's value through the real driver: value - amount written and read back before
the bills are settled; a card pulled mid-write is put back, or resolved at its next tap."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from kiosk.domain.terms import BillStatus, PaymentMethod, PaymentStatus
from kiosk.errors import BillAlreadyPaid, CardWritePending
from kiosk.payments.control import Stage
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Bill, CardOperation, Payment, utcnow
from kiosk.services import payments
from kiosk.services.abandoned import release_abandoned_intents

CUTS = range(1, 12)


def pay(desk, screen, key: str, n_bills: int = 1):  # type: ignore[no-untyped-def]
    hh = desk.mini.household_ids[0]
    bills = desk.mini.bill_ids[hh][:n_bills]
    return payments.pay_bills(desk.factory, desk.mini.till, key=key, household_id=hh, bill_ids=bills,
                              method=PaymentMethod.CARD, language="en", card_id=desk.card_id(),
                              move_money=desk.station.spend_mover(desk.uid(), screen.control))


def bill_statuses(desk) -> list[str]:  # type: ignore[no-untyped-def]
    hh = desk.mini.household_ids[0]
    with unit_of_work(desk.factory) as s:
        return list(s.scalars(select(Bill.status).where(Bill.id == desk.mini.bill_ids[hh][0])))


def test_card_payment_writes_the_new_value_before_the_bills_are_settled(desk, screen):
    uid = desk.uid()
    desk.present(uid)
    out = pay(desk, screen, "spend-ok")
    assert out.status is PaymentStatus.SUCCEEDED and out.amount_fen == 10_000
    assert screen.stages[0] is Stage.HOLD_CARD
    assert desk.read(uid).state == (40_000, 1) and desk.ledger() == (40_000, 1, 0)
    assert bill_statuses(desk) == [BillStatus.PAID]
    desk.present(uid)
    desk.station.check_tap(uid)


@pytest.mark.parametrize("cut", CUTS)
def test_card_pulled_mid_payment_and_not_back_is_put_right_at_the_next_tap(desk, screen, cut):
    uid = desk.uid()
    desk.present(uid)
    desk.sim.remove_card_after_ops(cut)
    with pytest.raises(CardWritePending):
        pay(desk, screen, f"cut{cut}")
    assert Stage.PLACE_CARD in screen.stages
    assert bill_statuses(desk) == [BillStatus.PENDING]  # still the payment's: the card decides at its next tap
    with unit_of_work(desk.factory) as s:
        assert s.scalars(select(Payment.status)).one() == PaymentStatus.INTENT
    desk.present(uid)
    desk.station.check_tap(uid)  # completed if the card holds the payment, cancelled if it does not
    image = desk.read(uid)
    value, counter, open_writes = desk.ledger()
    assert image.mac_ok and open_writes == 0 and counter == image.counter and image.value_fen == value
    with unit_of_work(desk.factory) as s:
        status = s.scalars(select(Payment.status)).one()
        spend = s.scalars(select(CardOperation.status).where(CardOperation.kind == "spend")).one()
    if value == 40_000:  # the card was written before it left: the payment completes, once
        assert (status, spend, bill_statuses(desk)) == (PaymentStatus.SUCCEEDED, "done", [BillStatus.PAID])
    else:  # not written (or torn and cancelled): nothing was spent and the bill is free again
        assert value == 50_000
        assert status in (PaymentStatus.FAILED, PaymentStatus.CANCELLED) and spend == "cancelled"
        assert bill_statuses(desk) == [BillStatus.OPEN]
        desk.present(uid)
        out = pay(desk, screen, f"again{cut}")  # and the card pays normally afterwards
        assert out.status is PaymentStatus.SUCCEEDED and desk.read(uid).value_fen == 40_000
    desk.present(uid)
    desk.station.check_tap(uid)


@pytest.mark.parametrize("cut", [2, 7, 11])
def test_card_put_back_while_asked_finishes_the_same_payment_once(desk, screen, cut):
    uid = desk.uid()
    desk.present(uid)
    desk.sim.remove_card_after_ops(cut)
    screen.on(Stage.PLACE_CARD, lambda: desk.present(uid))
    out = pay(desk, screen, f"back{cut}")
    assert out.status is PaymentStatus.SUCCEEDED
    assert desk.read(uid).state == (40_000, 1) and desk.ledger() == (40_000, 1, 0)


@pytest.mark.parametrize("written", [True, False])
def test_kiosk_dying_mid_payment_completes_or_cancels_it_at_the_next_tap(desk, screen, written):
    """The process died with the intent and the pending write recorded: the card decides."""
    from kiosk.cards import reconcile

    uid = desk.uid()
    hh = desk.mini.household_ids[0]
    with unit_of_work(desk.factory) as s:
        payment, _ = payments.start_bill_payment(s, desk.mini.till, key="crash", household_id=hh,
                                                 bill_ids=desk.mini.bill_ids[hh][:1], method=PaymentMethod.CARD,
                                                 card_id=desk.card_id())
        payment_id = payment.id
    spend = reconcile.record_spend(desk.factory, payment_id, desk.card_id())
    assert spend is not None
    write = spend.write
    if written:
        before = desk.read(uid)
        desk.supervisor.submit(lambda r: desk.app.write_value(r, r.poll(1.0), before, write.new_value_fen)).result(5)
    desk.present(uid)
    desk.station.check_tap(uid)
    with unit_of_work(desk.factory) as s:
        status = s.get(Payment, payment_id).status
    if written:
        assert status == "succeeded" and bill_statuses(desk) == [BillStatus.PAID]
        assert desk.ledger() == (40_000, 1, 0) and desk.read(uid).state == (40_000, 1)
    else:
        assert status == "cancelled" and bill_statuses(desk) == [BillStatus.OPEN]
        assert desk.ledger() == (50_000, 0, 0) and desk.read(uid).state == (50_000, 0)


def test_kiosk_dying_between_the_verified_write_and_the_settlement_settles_at_the_next_tap(desk, screen):
    uid = desk.uid()
    desk.present(uid)
    mover = desk.station.spend_mover(uid, screen.control)

    def write_then_die(payment):  # type: ignore[no-untyped-def]
        mover(payment)
        raise KeyboardInterrupt  # the process goes away before the settlement

    hh = desk.mini.household_ids[0]
    with pytest.raises(KeyboardInterrupt):
        payments.pay_bills(desk.factory, desk.mini.till, key="die", household_id=hh,
                           bill_ids=desk.mini.bill_ids[hh][:1], method=PaymentMethod.CARD, language="en",
                           card_id=desk.card_id(), move_money=write_then_die)
    # the write stays pending with its payment an intent (the settlement marks it done): a restart leaves the payment
    # to the card, and its next tap settles it, not "tampered"
    assert desk.read(uid).state == (40_000, 1) and desk.ledger() == (50_000, 0, 1)
    assert release_abandoned_intents(desk.factory, desk.mini.till, started_before=utcnow() + timedelta(seconds=1)) == []
    desk.present(uid)
    desk.station.check_tap(uid)
    assert desk.ledger() == (40_000, 1, 0) and bill_statuses(desk) == [BillStatus.PAID]
    desk.present(uid)
    desk.station.check_tap(uid)


def test_payment_whose_settlement_is_refused_after_the_write_gives_the_value_back_at_the_next_tap(desk, screen):
    uid = desk.uid()
    hh = desk.mini.household_ids[0]
    bill_id = desk.mini.bill_ids[hh][0]
    desk.present(uid)
    mover = desk.station.spend_mover(uid, screen.control)

    def write_then_lose_the_bill(payment):  # type: ignore[no-untyped-def]
        done = mover(payment)
        with unit_of_work(desk.factory) as s:  # staff settle the bill at the counter meanwhile
            s.get(Bill, bill_id).status = str(BillStatus.PAID)
            s.get(Bill, bill_id).payment_id = None
        return done

    with pytest.raises(BillAlreadyPaid):
        payments.pay_bills(desk.factory, desk.mini.till, key="lost-bill", household_id=hh, bill_ids=[bill_id],
                           method=PaymentMethod.CARD, language="en", card_id=desk.card_id(),
                           move_money=write_then_lose_the_bill)
    assert desk.read(uid).state == (40_000, 1)
    desk.present(uid)
    desk.station.check_tap(uid)
    image = desk.read(uid)
    assert image.mac_ok and image.state == (50_000, 2) and desk.ledger() == (50_000, 2, 0)
    with unit_of_work(desk.factory) as s:
        assert s.scalars(select(Payment.status).where(Payment.idempotency_key == "lost-bill")).one() == "failed"
