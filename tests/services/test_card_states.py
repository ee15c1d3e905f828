"""Every card state transition: frozen (resident / staff), lost and found (tap + PIN), replaced for ever, staff with a
reason, and the household PIN lock-out shared with the unit + PIN sign-in. Both databases."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from kiosk.domain.terms import CardStatus, PaymentMethod
from kiosk.errors import (AccountLocked, AlreadyDone, CardBlocked, CardFrozen, CardFrozenByStaff, CardReplaced,
                          InvalidEntry, WrongPin)
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import AuditEntry, Card, Household, Receipt
from kiosk.services import card_replacement, card_states, cards, households
from kiosk.services.charges import usable_card

PIN = "258046"
T0 = datetime(2026, 12, 6, 2, 0, tzinfo=timezone.utc)


def _setup(factory, mini):
    hh = mini.household_ids[0]
    with unit_of_work(factory) as s:
        households.set_household_pin(s, hh, PIN, actor="staff:wang")
        card = s.get(Card, mini.card_ids[hh])
        return hh, card.id, card.uid_hex, s.get(Household, hh).unit_no


def _status(factory, card_id):
    with unit_of_work(factory) as s:
        card = s.get(Card, card_id)
        return card.status, card.frozen_by_staff


def _audit(factory, action):
    with unit_of_work(factory) as s:
        return [(a.actor, json.loads(a.details)) for a in
                s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))]


def test_resident_freezes_a_card_in_use_then_unfreezes_it(factory, mini):
    hh, card_id, uid, _unit = _setup(factory, mini)
    with unit_of_work(factory) as s:
        res = cards.freeze_card(s, card_id=card_id, household_id=hh, actor="kiosk:K01")
    assert res.status == CardStatus.FROZEN and _status(factory, card_id) == ("frozen", False)
    with pytest.raises(CardFrozen):  # blocked for every use while frozen
        with unit_of_work(factory) as s:
            cards.identify_card(s, uid)
    with pytest.raises(CardFrozen):
        with unit_of_work(factory) as s:
            usable_card(s.get(Card, card_id))
    with pytest.raises(AlreadyDone):
        with unit_of_work(factory) as s:
            cards.freeze_card(s, card_id=card_id, household_id=hh, actor="kiosk:K01")
    with unit_of_work(factory) as s:
        res = cards.unfreeze_card(s, mini.till, household_id=hh, card_id=card_id, language="zh_Hans")
        receipt = s.scalars(select(Receipt).where(Receipt.household_id == hh)).one()
    assert res.status == CardStatus.ACTIVE and res.receipt_number and receipt.kind == "card_unfreeze"
    assert _status(factory, card_id) == ("active", False)
    assert [a for a, _ in _audit(factory, "card.frozen")] == ["kiosk:K01"]


def test_lost_card_tapped_with_the_household_pin_is_unblocked_and_signs_the_resident_in(factory, mini):
    hh, card_id, uid, _unit = _setup(factory, mini)
    with unit_of_work(factory) as s:
        cards.report_loss(s, mini.till, household_id=hh, card_id=card_id, language="en")
    out = card_states.unblock_found_card(factory, mini.till, uid=uid, pin=PIN, language="zh_Hans")
    assert out.identity.household_id == hh and out.card.uid_hex == uid and out.card.status == CardStatus.ACTIVE
    assert out.result.status == CardStatus.ACTIVE and out.result.receipt_number
    assert out.card.balance_fen == 50_000  # the value never left the card's account
    assert _status(factory, card_id) == ("active", False)
    ((actor, details),) = _audit(factory, "card.loss_lifted")
    assert actor == f"card:{uid}" and (details["before"], details["after"]) == ("lost", "active")
    with pytest.raises(AlreadyDone):  # a card in use has nothing to unblock
        card_states.unblock_found_card(factory, mini.till, uid=uid, pin=PIN, language="en")


def test_self_frozen_card_tapped_with_the_pin_is_unfrozen(factory, mini):
    hh, card_id, uid, _unit = _setup(factory, mini)
    with unit_of_work(factory) as s:
        cards.freeze_card(s, card_id=card_id, household_id=hh, actor="kiosk:K01")
    out = card_states.unblock_found_card(factory, mini.till, uid=uid, pin=PIN, language="en")
    assert out.card.status == CardStatus.ACTIVE and _status(factory, card_id) == ("active", False)


def test_lost_card_whose_replacement_was_issued_can_never_be_unblocked(factory, mini):
    hh, card_id, uid, _unit = _setup(factory, mini)
    with unit_of_work(factory) as s:
        cards.report_loss(s, mini.till, household_id=hh, card_id=card_id, language="en")
    card_replacement.replace_card(factory, mini.till, key="r1", household_id=hh, old_card_id=card_id, new_uid="A1B2C3D4",
                            method=PaymentMethod.CARD, fee_fen=2_000, language="en")
    with pytest.raises(CardReplaced):  # the resident holding the found card and the PIN
        card_states.unblock_found_card(factory, mini.till, uid=uid, pin=PIN, language="en")
    with pytest.raises(CardReplaced):  # nor staff, with any reason
        with unit_of_work(factory) as s:
            card_states.staff_change_card(s, mini.till, actor="staff:li", uid=uid, action="lift_loss",
                                          reason="found", language="en")
    assert _status(factory, card_id)[0] == "replaced"
    with unit_of_work(factory) as s:  # staff see it in the household's list, in its state
        listed = card_states.staff_card_list(s, mini.till.site_id, uid=uid)
    assert [(c.uid_hex, c.status) for c in listed.cards] == [(uid, "replaced"), ("A1B2C3D4", "active")]


def test_wrong_pins_on_a_found_card_count_toward_the_households_one_lock_out(factory, mini):
    hh, card_id, uid, unit = _setup(factory, mini)
    with unit_of_work(factory) as s:
        cards.report_loss(s, mini.till, household_id=hh, card_id=card_id, language="en")
    remaining = []
    for i in range(3):
        with pytest.raises(WrongPin) as err:
            card_states.unblock_found_card(factory, mini.till, uid=uid, pin="0000", language="en",
                                           now=T0 + timedelta(seconds=i))
        remaining.append(err.value.params["remaining"])
    with pytest.raises(WrongPin) as err:  # the same counter as the unit + PIN sign-in
        households.identify_by_pin(factory, mini.till.site_id, unit, "1111", now=T0 + timedelta(seconds=4))
    assert remaining == [4, 3, 2] and err.value.params["remaining"] == 1
    with pytest.raises(AccountLocked):
        card_states.unblock_found_card(factory, mini.till, uid=uid, pin="0000", language="en",
                                       now=T0 + timedelta(seconds=5))
    with pytest.raises(AccountLocked):  # even the right PIN while locked
        card_states.unblock_found_card(factory, mini.till, uid=uid, pin=PIN, language="en",
                                       now=T0 + timedelta(minutes=5))
    assert _status(factory, card_id)[0] == "lost"
    out = card_states.unblock_found_card(factory, mini.till, uid=uid, pin=PIN, language="en",
                                         now=T0 + timedelta(minutes=16))
    assert out.card.status == CardStatus.ACTIVE


def test_staff_freeze_is_lifted_by_staff_only_and_every_change_is_audited_with_the_reason(factory, mini):
    hh, card_id, uid, _unit = _setup(factory, mini)
    with pytest.raises(InvalidEntry):  # a reason is required
        with unit_of_work(factory) as s:
            card_states.staff_change_card(s, mini.till, actor="staff:li", uid=uid, action="freeze", reason=" ",
                                          language="en")
    with unit_of_work(factory) as s:
        card_states.staff_change_card(s, mini.till, actor="staff:li", uid=uid, action="freeze",
                                      reason="card reported stolen by phone", language="en")
    assert _status(factory, card_id) == ("frozen", True)
    with pytest.raises(CardFrozenByStaff):
        with unit_of_work(factory) as s:
            cards.identify_card(s, uid)
    with pytest.raises(CardFrozenByStaff):
        with unit_of_work(factory) as s:
            cards.unfreeze_card(s, mini.till, household_id=hh, card_id=card_id, language="en")
    with pytest.raises(CardFrozenByStaff):
        card_states.unblock_found_card(factory, mini.till, uid=uid, pin=PIN, language="en")
    with unit_of_work(factory) as s:
        res = card_states.staff_change_card(s, mini.till, actor="staff:li", uid=uid, action="unfreeze",
                                            reason="holder came to the desk", language="en")
    assert res.status == CardStatus.ACTIVE and _status(factory, card_id) == ("active", False)
    assert _audit(factory, "card.frozen") == [("staff:li", {"after": "frozen", "before": "active", "by_staff": True,
                                                            "reason": "card reported stolen by phone"})]
    ((actor, details),) = _audit(factory, "card.unfrozen")
    assert actor == "staff:li" and details["reason"] == "holder came to the desk"


def test_staff_lift_a_loss_with_a_reason_and_find_cards_by_unit(factory, mini):
    hh, card_id, uid, unit = _setup(factory, mini)
    with unit_of_work(factory) as s:
        cards.report_loss(s, mini.till, household_id=hh, card_id=card_id, language="en")
        listed = card_states.staff_card_list(s, mini.till.site_id, unit_no=unit)
    assert listed.household_id == hh and [(c.uid_hex, c.status, c.balance_fen) for c in listed.cards] == \
        [(uid, "lost", 50_000)]
    with pytest.raises(CardBlocked):  # staff cannot freeze a lost card: it is blocked already
        with unit_of_work(factory) as s:
            card_states.staff_change_card(s, mini.till, actor="staff:li", uid=uid, action="freeze",
                                          reason="x", language="en")
    with unit_of_work(factory) as s:
        res = card_states.staff_change_card(s, mini.till, actor="staff:li", uid=uid, action="lift_loss",
                                            reason="holder showed ID", language="en")
    assert res.status == CardStatus.ACTIVE and res.receipt_number
    ((actor, details),) = _audit(factory, "card.loss_lifted")
    assert actor == "staff:li" and details == {"after": "active", "before": "lost", "by_staff": True,
                                               "reason": "holder showed ID"}


def test_a_vehicle_card_keeps_its_plate_when_issued_and_when_replaced(factory, mini):
    from kiosk.domain.terms import CardKind

    hh, card_id = mini.household_ids[0], mini.card_ids[mini.household_ids[0]]
    with unit_of_work(factory) as s:
        vehicle, _write = cards.issue_card(s, household_id=hh, uid="0E0E0E01", kind=CardKind.VEHICLE,
                                           actor="staff:wang", plate=" 粤B·12345 ")
        resident, _write = cards.issue_card(s, household_id=hh, uid="0E0E0E02", kind=CardKind.RESIDENT,
                                            actor="staff:wang", plate="粤B·99999")
        s.get(Card, card_id).kind, s.get(Card, card_id).plate = "vehicle", "粤B·54321"
        cards.report_loss(s, mini.till, household_id=hh, card_id=card_id, language="en")
    out = card_replacement.replace_card(factory, mini.till, key="v1", household_id=hh, old_card_id=card_id,
                                  new_uid="0E0E0E03", method=PaymentMethod.CARD, fee_fen=2_000, language="en")
    with unit_of_work(factory) as s:
        assert s.get(Card, vehicle.card_id).plate == "粤B·12345"
        assert s.get(Card, resident.card_id).plate == ""  # only vehicle cards carry a plate
        assert s.get(Card, out.new_card_id).plate == "粤B·54321"  # the replacement keeps it
        listed = households.household_summary(s, hh)
    assert sorted((c.kind, c.plate) for c in listed.cards) == [("resident", ""), ("vehicle", "粤B·12345"),
                                                                ("vehicle", "粤B·54321")]
