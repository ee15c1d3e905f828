"""Parking: the household's spaces, rent for N months extends paid_until, free spaces and applications."""
from __future__ import annotations

from datetime import date

import pytest

from kiosk.domain.terms import AccountKind, PaymentMethod
from kiosk.errors import AlreadyDone, InvalidEntry, NotFound, SlotUnavailable
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import ParkingSpace, Payment
from kiosk.services import ledger, parking

TODAY = date(2026, 11, 28)


@pytest.fixture
def spaces(factory, mini):
    hh = mini.household_ids[0]
    with unit_of_work(factory) as s:
        rows = [ParkingSpace(site_id=mini.till.site_id, code="B1-001", zone="B1", state="rented", holder_household_id=hh,
                             monthly_rent_fen=30_000, paid_until=date(2027, 1, 31)),
                ParkingSpace(site_id=mini.till.site_id, code="B1-002", zone="B1", state="owned", holder_household_id=hh,
                             monthly_rent_fen=0, price_fen=15_000_000),
                ParkingSpace(site_id=mini.till.site_id, code="B1-003", zone="B1", state="free", monthly_rent_fen=30_000,
                             price_fen=16_000_000)]
        s.add_all(rows)
        s.flush()
        return [r.id for r in rows]


def test_household_sees_its_spaces_and_everyone_the_free_ones(factory, mini, spaces):
    with unit_of_work(factory) as s:
        assert [v.code for v in parking.household_spaces(s, mini.household_ids[0])] == ["B1-001", "B1-002"]
        assert [v.code for v in parking.free_spaces(s, mini.till.site_id)] == ["B1-003"]


def test_paying_rent_extends_paid_until_by_whole_months(factory, mini, spaces):
    hh = mini.household_ids[0]
    out = parking.pay_rent(factory, mini.till, key="p1", household_id=hh, space_id=spaces[0], months=1,
                           method=PaymentMethod.CARD, card_id=mini.card_ids[hh], language="en", today=TODAY)
    assert out.paid_until == date(2027, 2, 28) and out.outcome.amount_fen == 30_000
    with unit_of_work(factory) as s:
        assert s.get(ParkingSpace, spaces[0]).paid_until == date(2027, 2, 28)
        assert s.get(Payment, out.outcome.payment_id).purpose == "parking"
        assert ledger.balance(s, ledger.account(s, AccountKind.REVENUE, fee_kind="parking")) == -30_000


def test_lapsed_rent_runs_from_today(factory, mini, spaces):
    hh = mini.household_ids[0]
    with unit_of_work(factory) as s:
        s.get(ParkingSpace, spaces[0]).paid_until = date(2026, 6, 30)
    out = parking.pay_rent(factory, mini.till, key="p2", household_id=hh, space_id=spaces[0], months=1,
                           method=PaymentMethod.CARD, card_id=mini.card_ids[hh], language="en", today=TODAY)
    assert out.paid_until == date(2026, 12, 28)


def test_month_arithmetic_clamps_to_the_months_end():
    assert parking.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert parking.add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert parking.add_months(date(2026, 11, 28), 14) == date(2028, 1, 28)


def test_rent_for_someone_elses_or_an_owned_space_is_refused(factory, mini, spaces):
    hh, other = mini.household_ids
    with pytest.raises(NotFound):
        parking.pay_rent(factory, mini.till, key="p3", household_id=other, space_id=spaces[0], months=1,
                         method=PaymentMethod.CARD, card_id=mini.card_ids[other], language="en")
    with pytest.raises(InvalidEntry):
        parking.pay_rent(factory, mini.till, key="p4", household_id=hh, space_id=spaces[1], months=1,
                         method=PaymentMethod.CARD, card_id=mini.card_ids[hh], language="en")
    with pytest.raises(InvalidEntry):
        parking.pay_rent(factory, mini.till, key="p5", household_id=hh, space_id=spaces[0], months=0,
                         method=PaymentMethod.CARD, card_id=mini.card_ids[hh], language="en")


def test_application_for_a_free_space_gets_a_reference_once(factory, mini, spaces):
    hh = mini.household_ids[1]
    with unit_of_work(factory) as s:
        app = parking.apply(s, mini.till, household_id=hh, space_id=spaces[2], mode="buy")
    assert app.reference.startswith("A") and app.space_code == "B1-003"
    with pytest.raises(AlreadyDone):
        with unit_of_work(factory) as s:
            parking.apply(s, mini.till, household_id=hh, space_id=spaces[2], mode="buy")
    with pytest.raises(SlotUnavailable):
        with unit_of_work(factory) as s:
            parking.apply(s, mini.till, household_id=hh, space_id=spaces[0], mode="rent")
