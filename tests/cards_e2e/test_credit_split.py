"""Split tender with the card through the real driver: the card pays only the rest (written and read back),
the account credit pays its part at settlement; credit gone meanwhile gives the card its value back at the
next tap and consumes nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from kiosk.domain.terms import AccountKind, BillStatus, EntryKind, FeeKind, PaymentMethod, PaymentStatus
from kiosk.errors import CreditNotEnough
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Bill, Payment
from kiosk.services import ledger, payments


def _give_credit(desk, hh: int, fen: int) -> None:
    with unit_of_work(desk.factory) as s:  # a booking fee refunded earlier
        ledger.transfer(s, EntryKind.REFUND, ledger.account(s, AccountKind.REVENUE, fee_kind=FeeKind.BOOKING),
                        ledger.account(s, AccountKind.CREDIT, household_id=hh), fen, kiosk_id=desk.mini.till.kiosk_id)


def _credit(desk, hh: int) -> int:
    with unit_of_work(desk.factory) as s:
        return ledger.liability_balance(s, ledger.account(s, AccountKind.CREDIT, household_id=hh))


def test_card_writes_only_the_rest_and_credit_pays_its_part(desk, screen):
    uid, hh = desk.uid(), desk.mini.household_ids[0]
    _give_credit(desk, hh, 3_000)
    desk.present(uid)
    out = payments.pay_bills(desk.factory, desk.mini.till, key="split-card", household_id=hh,
                             bill_ids=desk.mini.bill_ids[hh][:1], method=PaymentMethod.CARD, language="en",
                             card_id=desk.card_id(), credit_fen=3_000,
                             move_money=desk.station.spend_mover(uid, screen.control))
    assert out.status is PaymentStatus.SUCCEEDED and out.amount_fen == 10_000
    assert desk.read(uid).state == (50_000 - 7_000, 1) and desk.ledger() == (43_000, 1, 0)
    assert _credit(desk, hh) == 0


def test_credit_spent_elsewhere_after_the_card_write_gives_the_value_back_at_the_next_tap(desk, screen):
    uid, hh = desk.uid(), desk.mini.household_ids[0]
    bills = desk.mini.bill_ids[hh]
    _give_credit(desk, hh, 3_000)
    desk.present(uid)
    mover = desk.station.spend_mover(uid, screen.control)

    def write_then_credit_goes(payment):  # type: ignore[no-untyped-def]
        mover(payment)
        # meanwhile the household's credit pays another bill at another kiosk (credit + banknotes)
        payments.pay_bills(desk.factory, desk.mini.till, key="elsewhere", household_id=hh, bill_ids=[bills[1]],
                           method=PaymentMethod.CASH, language="en", credit_fen=3_000,
                           move_money=_cash_in(desk))

    with pytest.raises(CreditNotEnough):
        payments.pay_bills(desk.factory, desk.mini.till, key="split-lost", household_id=hh, bill_ids=bills[:1],
                           method=PaymentMethod.CARD, language="en", card_id=desk.card_id(), credit_fen=3_000,
                           move_money=write_then_credit_goes)
    assert desk.read(uid).state == (43_000, 1)  # the card holds the spend of the rest
    desk.present(uid)
    desk.station.check_tap(uid)
    image = desk.read(uid)
    assert image.mac_ok and image.state == (50_000, 2) and desk.ledger() == (50_000, 2, 0)
    with unit_of_work(desk.factory) as s:
        assert s.scalars(select(Payment.status).where(Payment.idempotency_key == "split-lost")).one() == "failed"
        assert s.get(Bill, bills[0]).status == BillStatus.OPEN
        assert ledger.unbalanced_entries(s) == []


def _cash_in(desk):  # type: ignore[no-untyped-def]
    """The other kiosk's cash part: notes for exactly the rest, each credited as it is stacked."""
    def move(payment):  # type: ignore[no-untyped-def]
        with unit_of_work(desk.factory) as s:
            p = s.get(Payment, payment.id)
            payments.record_cash_in(s, desk.mini.till, p, counter=9_001, value_fen=payments.other_part(p))
    return move
