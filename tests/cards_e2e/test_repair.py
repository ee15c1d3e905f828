"""Staff repair of a flagged card, through the real driver and the wire-level simulator: the card is rewritten
from the ledger (value = ledger balance, counter past anything seen), recorded before it is touched, finished
after a verified read-back, and accepted at the next tap; lost, unknown and foreign cards are refused."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from devices.sim.mifare_card import VirtualMifareCard
from kiosk.cards import CardApplication, reconcile
from kiosk.cards.repair import CardRepairDesk
from kiosk.domain.terms import AccountKind, PaymentMethod
from kiosk.errors import (AlreadyDone, CardBlocked, CardFlagged, CardForeignKeys, CardRolledBack, CardTampered,
                          CardUnknown, CardWritePending)
from kiosk.payments.control import Stage
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import AuditEntry, Card, CardOperation, JournalEntry, Payment
from kiosk.services import card_value, cards, ledger
from tests.services.helpers import cash

STAFF = "staff:Li Na"


@pytest.fixture
def repairs(desk) -> CardRepairDesk:  # type: ignore[no-untyped-def]
    return CardRepairDesk(desk.station)


def flagged(desk, n: int = 0) -> str:  # type: ignore[no-untyped-def]
    with unit_of_work(desk.factory) as s:
        return s.get(Card, desk.card_id(n)).flagged_reason


def household_money(desk, n: int = 0) -> int:  # type: ignore[no-untyped-def]
    """What the household owns on the ledger: the card's stored value plus the household's credit."""
    with unit_of_work(desk.factory) as s:
        hh = desk.mini.household_ids[n]
        credit = ledger.liability_balance(s, ledger.account(s, AccountKind.CREDIT, household_id=hh))
        return cards.card_balance(s, desk.card_id(n)) + credit


def repair_ops(desk) -> list[tuple[str, int, int]]:  # type: ignore[no-untyped-def]
    with unit_of_work(desk.factory) as s:
        return [(o.status, o.new_value_fen, o.new_counter) for o in
                s.scalars(select(CardOperation).where(CardOperation.kind == "repair").order_by(CardOperation.id))]


def audit_rows(desk, action: str) -> list[tuple[str, dict]]:  # type: ignore[no-untyped-def]
    with unit_of_work(desk.factory) as s:
        return [(a.actor, json.loads(a.details)) for a in
                s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))]


def tamper(desk, uid: str) -> None:  # type: ignore[no-untyped-def]
    desk.cards[uid].blocks[8][7] ^= 0x01  # one bit of the MAC
    desk.present(uid)
    with pytest.raises(CardTampered):
        desk.station.check_tap(uid)
    assert flagged(desk).startswith("E4005")


def top_up(desk, screen, key: str, amount: int = 1_000):  # type: ignore[no-untyped-def]
    return card_value.top_up(desk.factory, desk.mini.till, key=key, card_uid=desk.uid(), amount_fen=amount,
                             method=PaymentMethod.CASH, language="en",
                             move_money=cash(desk.factory, desk.mini.till, amount),
                             write_card=desk.station.write_card(screen.control))


def test_tampered_card_is_repaired_and_accepted_at_the_next_tap_with_the_ledgers_balance(desk, repairs):
    uid = desk.uid()
    tamper(desk, uid)
    before = household_money(desk)
    desk.present(uid)
    check = repairs.check(uid)
    assert not check.reading.mac_ok and check.record_matches and check.needs_repair
    assert (check.reading.value_fen, check.reading.counter) == (50_000, 0)
    assert (check.ledger_value_fen, check.ledger_counter) == (50_000, 0) and check.flag_reason.startswith("E4005")
    out = repairs.repair(uid, STAFF)
    assert (out.value_fen, out.counter, out.old_counter) == (50_000, 1, 0) and out.flag_reason.startswith("E4005")
    assert flagged(desk) == "" and household_money(desk) == before
    assert desk.ledger() == (50_000, 1, 0)
    image = desk.read(uid)
    assert image.mac_ok and image.state == (50_000, 1)
    desk.present(uid)
    desk.station.check_tap(uid)  # the normal tap passes again
    ((actor, details),) = audit_rows(desk, "card.repaired")
    assert actor == STAFF and details["reason"].startswith("E4005")
    assert (details["old_counter"], details["new_counter"]) == (0, 1)
    assert (details["old_value_fen"], details["new_value_fen"]) == (50_000, 50_000)


def test_card_with_more_value_than_the_ledger_is_rewritten_down_to_the_ledger(desk, repairs):
    uid = desk.uid()
    desk.issue(uid, 90_000)  # a valid MAC (the site keys leaked), 900.00 the ledger never gave
    desk.present(uid)
    with pytest.raises(CardTampered):
        desk.station.check_tap(uid)
    desk.present(uid)
    check = repairs.check(uid)
    assert check.reading.mac_ok and check.reading.value_fen == 90_000 and not check.agrees
    out = repairs.repair(uid, STAFF)
    assert out.old_value_fen == 90_000 and out.value_fen == 50_000
    assert desk.read(uid).state == (50_000, 1) and desk.ledger() == (50_000, 1, 0)


def test_rolled_back_card_gets_a_counter_ahead_of_both_and_the_old_image_stays_refused(desk, repairs, screen):
    uid = desk.uid()
    dump = desk.cards[uid].to_json()  # 500.00 at counter 0
    desk.present(uid)
    top_up(desk, screen, "t")  # 510.00 at counter 1 on card and ledger
    desk.cards[uid] = VirtualMifareCard.from_json(dump)
    desk.present(uid)
    with pytest.raises(CardRolledBack):
        desk.station.check_tap(uid)
    assert flagged(desk).startswith("E4006")
    before = household_money(desk)
    desk.present(uid)
    out = repairs.repair(uid, STAFF)
    assert out.old_counter == 0 and out.counter == 2 and out.value_fen == 51_000
    assert desk.ledger() == (51_000, 2, 0) and household_money(desk) == before
    desk.present(uid)
    desk.station.check_tap(uid)
    desk.cards[uid] = VirtualMifareCard.from_json(dump)  # the attacker's old dump, written back once more
    desk.present(uid)
    with pytest.raises(CardRolledBack):
        desk.station.check_tap(uid)


def test_card_with_another_sites_keys_is_refused_and_nothing_is_recorded(desk, repairs):
    uid = desk.uid()
    other = CardApplication(bytes(range(16, 32)), bytes(range(32, 64)))
    desk.cards[uid] = VirtualMifareCard(bytes.fromhex(uid))
    desk.sim.present(desk.cards[uid])
    with unit_of_work(desk.factory) as s:
        facts = cards.card_facts(s, cards.card_by_uid(s, uid))

    def issue(reader):  # type: ignore[no-untyped-def]
        return other.issue(reader, reader.poll(1.0), reconcile.card_record(facts), 50_000)
    desk.supervisor.submit(issue).result(5)
    with pytest.raises(CardForeignKeys):
        repairs.check(uid)
    desk.present(uid)
    with pytest.raises(CardForeignKeys):
        repairs.repair(uid, STAFF)
    assert repair_ops(desk) == [] and desk.ledger() == (50_000, 0, 0)


def test_blank_card_with_factory_keys_is_refused_not_formatted(desk, repairs):
    uid = desk.uid()
    desk.cards[uid] = VirtualMifareCard(bytes.fromhex(uid))  # wiped back to the transport keys
    desk.present(uid)
    with pytest.raises(CardForeignKeys):
        repairs.repair(uid, STAFF)
    assert repair_ops(desk) == []


def test_lost_card_is_refused_before_the_card_is_touched(desk, repairs):
    uid = desk.uid()
    with unit_of_work(desk.factory) as s:
        cards.report_loss(s, desk.mini.till, household_id=desk.mini.household_ids[0], card_id=desk.card_id(),
                          language="en")
    desk.sim.remove()
    with pytest.raises(CardBlocked):
        repairs.check(uid)
    with pytest.raises(CardBlocked):
        repairs.repair(uid, STAFF)
    assert repair_ops(desk) == []


def test_unknown_card_is_refused(desk, repairs):
    with pytest.raises(CardUnknown):
        repairs.check("0A0B0CFF")


def test_card_that_agrees_with_the_ledger_and_is_not_flagged_is_left_alone(desk, repairs):
    uid = desk.uid()
    desk.present(uid)
    assert not repairs.check(uid).needs_repair
    with pytest.raises(AlreadyDone):
        repairs.repair(uid, STAFF)
    assert repair_ops(desk) == [] and desk.read(uid).state == (50_000, 0)


# read (6 card operations) | rewrite: read (6), write record, household, value (auth + 3), counter (auth + 1),
# read back (6). Cut after the first read, in the middle of the writes, and before the read-back.
@pytest.mark.parametrize("cut", [6, 9, 14, 16, 18, 20])
def test_card_pulled_mid_repair_is_finished_by_the_retry_with_one_value_change(desk, repairs, cut):
    uid = desk.uid()
    desk.issue(uid, 70_000)  # the card claims 700.00; the ledger says 500.00
    desk.present(uid)
    with pytest.raises(CardTampered):
        desk.station.check_tap(uid)
    before = household_money(desk)
    desk.present(uid)
    desk.sim.remove_card_after_ops(cut)
    with pytest.raises(CardWritePending):
        repairs.repair(uid, STAFF)
    assert repair_ops(desk) == [("pending", 50_000, 1)] and flagged(desk).startswith("E4005")
    desk.present(uid)
    with pytest.raises(CardFlagged):  # a normal tap does not take a half-repaired card: it is still flagged
        desk.station.check_tap(uid)
    desk.present(uid)
    assert repairs.check(uid).repair_pending
    out = repairs.repair(uid, STAFF)
    assert out.resumed and (out.old_value_fen, out.value_fen, out.counter) == (70_000, 50_000, 1)
    assert repair_ops(desk) == [("done", 50_000, 1)] and len(audit_rows(desk, "card.repaired")) == 1
    assert desk.ledger() == (50_000, 1, 0) and household_money(desk) == before and flagged(desk) == ""
    desk.present(uid)
    desk.station.check_tap(uid)


def test_card_put_back_during_the_repair_is_finished_in_the_same_call(desk, repairs, screen):
    uid = desk.uid()
    tamper(desk, uid)
    desk.present(uid)
    desk.sim.remove_card_after_ops(14)
    screen.on(Stage.PLACE_CARD, lambda: desk.present(uid))
    out = repairs.repair(uid, STAFF, screen.control)
    assert Stage.PLACE_CARD in screen.stages and not out.resumed
    assert repair_ops(desk) == [("done", 50_000, 1)] and desk.read(uid).state == (50_000, 1)


def test_open_top_up_of_a_flagged_card_is_settled_by_the_ledger_and_written_once(desk, repairs, screen):
    uid = desk.uid()
    desk.present(uid)
    desk.sim.remove_card_after_ops(8)  # the top-up's MAC block written, its value not: a torn card
    with pytest.raises(CardWritePending):
        top_up(desk, screen, "torn")
    desk.cards[uid].blocks[5][0] ^= 0x01  # ... and then the household block changed: the card is refused
    desk.present(uid)
    with pytest.raises(CardTampered):
        desk.station.check_tap(uid)
    assert desk.ledger() == (50_000, 0, 1)
    before = household_money(desk)
    desk.present(uid)
    check = repairs.check(uid)
    assert check.open_writes == 1 and not check.record_matches
    out = repairs.repair(uid, STAFF)
    assert out.resolved_writes == 1 and out.value_fen == 51_000 and out.counter == 2
    assert desk.ledger() == (51_000, 2, 0) and household_money(desk) == before
    with unit_of_work(desk.factory) as s:
        assert s.scalars(select(Payment.status)).one() == "succeeded"
    desk.present(uid)
    desk.station.check_tap(uid)
    assert desk.read(uid).state == (51_000, 2)


def test_ledger_balance_is_unchanged_by_repairs(desk, repairs):
    uid = desk.uid()
    with unit_of_work(desk.factory) as s:
        entries = s.scalar(select(func.count()).select_from(JournalEntry))
    tamper(desk, uid)
    desk.present(uid)
    repairs.repair(uid, STAFF)
    with unit_of_work(desk.factory) as s:
        after = s.scalar(select(func.count()).select_from(JournalEntry))
    assert after == entries and desk.ledger()[0] == 50_000
