"""Giving a card's value back, cut short: a write that will not stand (a card payment released at a restart, a
top-up whose credit is gone) is undone at the card's next tap by writing the old value back with the next
counter. If the card leaves (or the kiosk stops) part-way through that write, the tap after finishes it, once,
and takes the card for what it is: a card in the middle of being given its money back, not a tampered one.
Found by the crash harness (tests/crash): cuts after the give-back's MAC block flagged the card."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from kiosk.domain.terms import AccountKind, EntryKind, PaymentMethod
from kiosk.errors import CardError
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Card, Payment, utcnow
from kiosk.services import card_value, ledger, payments
from kiosk.services.abandoned import release_abandoned_intents
from tests.services.helpers import cash

# the give-back at a tap: the probe (6 card operations), the write's own probe (6), MAC block, read,
# authentication, value, transfer, read-back; then the tap's verifying read
CUTS = range(1, 20)


def tap_pulled_after(desk, uid: str, cut: int) -> None:  # type: ignore[no-untyped-def]
    desk.present(uid)
    desk.sim.remove_card_after_ops(cut)
    try:
        desk.station.check_tap(uid)  # the card goes part-way through
    except CardError:
        pass


def settled(desk, uid: str) -> tuple[tuple[int, int], tuple[int, int, int], str]:  # type: ignore[no-untyped-def]
    desk.present(uid)
    desk.station.check_tap(uid)  # the next tap finishes it, and the card passes the tap's own check
    with unit_of_work(desk.factory) as s:
        flagged = s.get(Card, desk.card_id()).flagged_reason
    return desk.read(uid).state, desk.ledger(), flagged


@pytest.mark.parametrize("cut", CUTS)
def test_card_payment_released_at_a_restart_is_given_back_once_even_if_the_give_back_is_cut(desk, screen, cut):
    uid, hh = desk.uid(), desk.mini.household_ids[0]
    desk.present(uid)
    mover = desk.station.spend_mover(uid, screen.control)

    def write_then_die(payment):  # type: ignore[no-untyped-def]
        done = mover(payment)
        with unit_of_work(desk.factory) as s:  # the write marked done on its own, as kiosks did before session 13
            done(s)  # (a database can still hold that state): the restart then releases the payment
        raise KeyboardInterrupt  # the kiosk stops after the verified write, before the settlement

    with pytest.raises(KeyboardInterrupt):
        payments.pay_bills(desk.factory, desk.mini.till, key="die", household_id=hh,
                           bill_ids=desk.mini.bill_ids[hh][:1], method=PaymentMethod.CARD, language="en",
                           card_id=desk.card_id(), move_money=write_then_die)
    release_abandoned_intents(desk.factory, desk.mini.till, started_before=utcnow() + timedelta(seconds=1))
    tap_pulled_after(desk, uid, cut)
    assert settled(desk, uid) == ((50_000, 2), (50_000, 2, 0), "")
    with unit_of_work(desk.factory) as s:
        assert s.scalars(select(Payment.status)).one() == "failed"


@pytest.mark.parametrize("cut", CUTS)
def test_top_up_whose_credit_is_gone_is_taken_back_off_the_card_even_if_that_is_cut(desk, screen, cut):
    uid, hh = desk.uid(), desk.mini.household_ids[0]
    desk.present(uid)
    desk.sim.remove_card_after_ops(11)  # the card leaves right after the top-up's value reached it
    with pytest.raises(CardError):
        card_value.top_up(desk.factory, desk.mini.till, key="t", card_uid=uid, amount_fen=1_000,
                          method=PaymentMethod.CASH, language="en",
                          move_money=cash(desk.factory, desk.mini.till, 1_000),
                          write_card=desk.station.write_card(screen.control))
    assert desk.read(uid).state == (51_000, 1) and desk.ledger() == (50_000, 0, 1)
    with unit_of_work(desk.factory) as s:  # meanwhile the household's credit is refunded at the counter
        credit = ledger.account(s, AccountKind.CREDIT, household_id=hh)
        box = ledger.account(s, AccountKind.CASH_BOX, kiosk_id=desk.mini.till.kiosk_id)
        ledger.transfer(s, EntryKind.REFUND, credit, box, 1_000)
    tap_pulled_after(desk, uid, cut)
    assert settled(desk, uid) == ((50_000, 2), (50_000, 2, 0), "")
    with unit_of_work(desk.factory) as s:
        assert s.scalars(select(Payment.status)).one() == "cancelled"
