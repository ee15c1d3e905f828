"""Every tap reads the card, verifies its MAC and compares it with the ledger: tampered and rolled-back cards
are refused and flagged for staff (then refused at every tap until repaired); lost, replaced and foreign cards are
refused everywhere."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from devices.sim.mifare_card import VirtualMifareCard
from kiosk.cards import CardApplication
from kiosk.domain.terms import PaymentMethod
from kiosk.cards import reconcile
from kiosk.errors import CardBlocked, CardFlagged, CardReplaced, CardRolledBack, CardTampered, CardUnknown
from kiosk.payments.control import PaymentControl
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import AuditEntry, Card, Payment
from kiosk.services import card_replacement, card_value, cards
from tests.services.helpers import cash


def flagged(desk, n: int = 0) -> str:  # type: ignore[no-untyped-def]
    with unit_of_work(desk.factory) as s:
        return s.get(Card, desk.card_id(n)).flagged_reason


def audit_actions(desk) -> list[str]:  # type: ignore[no-untyped-def]
    with unit_of_work(desk.factory) as s:
        return list(s.scalars(select(AuditEntry.action)))


@pytest.mark.parametrize("block,byte", [(8, 4), (8, 15), (4, 12), (5, 0)])
def test_card_with_one_bit_flipped_is_refused_and_flagged(desk, block, byte):
    uid = desk.uid()
    card = desk.cards[uid]
    card.blocks[block][byte] ^= 0x01  # bytes 4..15 of block 8 are the MAC; 4 and 5 hold the record
    desk.present(uid)
    with pytest.raises(CardTampered):
        desk.station.check_tap(uid)
    assert flagged(desk).startswith("E4005") and "card.flagged" in audit_actions(desk)
    assert flagged(desk, 1) == ""


def test_card_with_more_value_than_the_ledger_is_refused(desk):
    uid = desk.uid()
    desk.issue(uid, 90_000)  # a valid MAC (as if the site keys leaked), but not what the ledger says
    desk.present(uid)
    with pytest.raises(CardTampered):
        desk.station.check_tap(uid)
    assert flagged(desk).startswith("E4005")


def test_card_restored_to_an_older_image_is_refused_as_rolled_back_and_flagged(desk, screen):
    uid = desk.uid()
    before = desk.cards[uid].to_json()  # the attacker's dump: 500.00 at counter 0
    desk.present(uid)
    card_value.top_up(desk.factory, desk.mini.till, key="t", card_uid=uid, amount_fen=1_000,
                      method=PaymentMethod.CASH, language="en", move_money=cash(desk.factory, desk.mini.till, 1_000),
                      write_card=desk.station.write_card(screen.control))
    spent = desk.cards[uid]
    # ... then the holder writes the old dump (taken before the top-up) back onto a card with the same UID
    desk.cards[uid] = VirtualMifareCard.from_json(before)
    desk.present(uid)
    with pytest.raises(CardRolledBack):
        desk.station.check_tap(uid)
    assert flagged(desk).startswith("E4006") and "card.flagged" in audit_actions(desk)
    desk.cards[uid] = spent
    desk.present(uid)
    with pytest.raises(CardFlagged):  # the genuine card too, until staff have looked at it (tests/cards_e2e/test_flagged.py)
        desk.station.check_tap(uid)


def test_lost_card_is_refused_before_the_card_is_touched(desk):
    uid = desk.uid()
    hh = desk.mini.household_ids[0]
    with unit_of_work(desk.factory) as s:
        cards.report_loss(s, desk.mini.till, household_id=hh, card_id=desk.card_id(), language="en")
    desk.sim.remove()  # not even on the reader: the ledger alone refuses it
    with pytest.raises(CardBlocked):
        desk.station.check_tap(uid)
    desk.present(uid)
    with pytest.raises(CardBlocked):  # refused before the payment is looked at: one that is not there serves
        desk.station.spend_mover(uid, PaymentControl())(Payment(id=-1))


def test_replaced_card_is_refused_at_tap(desk):
    uid = desk.uid()
    hh = desk.mini.household_ids[0]
    card_replacement.replace_card(desk.factory, desk.mini.till, key="r", household_id=hh, old_card_id=desk.card_id(),
                            new_uid="C1C2C3C4", method=PaymentMethod.CARD, fee_fen=2_000, language="en")
    desk.present(uid)
    with pytest.raises(CardReplaced):
        desk.station.check_tap(uid)


def test_card_of_another_site_or_unregistered_is_refused(desk):
    stranger = "DEADBEEF"
    desk.cards[stranger] = VirtualMifareCard(bytes.fromhex(stranger))
    desk.present(stranger)
    with pytest.raises(CardUnknown):
        desk.station.check_tap(stranger)
    uid = desk.uid()
    other_site = CardApplication(bytes(range(16, 32)), bytes(range(32, 64)))
    foreign = VirtualMifareCard(bytes.fromhex(uid))
    desk.sim.present(foreign)
    with unit_of_work(desk.factory) as s:
        record = reconcile.card_record(cards.card_facts(s, cards.card_by_uid(s, uid)))
    desk.supervisor.submit(lambda r: other_site.issue(r, r.poll(1.0), record, 50_000)).result(5)
    with pytest.raises(CardUnknown):
        desk.station.check_tap(uid)
