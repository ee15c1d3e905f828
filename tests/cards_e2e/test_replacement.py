"""Card replacement on the real driver: the new card placed on the reader is issued with the old balance
and verified; the old card is refused for ever; an issue cut short is finished at the new card's tap."""
from __future__ import annotations

from devices.sim.mifare_card import VirtualMifareCard
from kiosk.domain.terms import PaymentMethod, PaymentStatus
from kiosk.errors import CardReplaced
from kiosk.payments.control import Stage
from kiosk.persistence.db import unit_of_work
from kiosk.services import card_replacement, cards

import pytest

NEW = "C1C2C3C4"


def replace(desk, screen, new_uid: str, key: str = "rep"):  # type: ignore[no-untyped-def]
    hh = desk.mini.household_ids[0]
    return card_replacement.replace_card(desk.factory, desk.mini.till, key=key, household_id=hh,
                                   old_card_id=desk.card_id(), new_uid=new_uid, method=PaymentMethod.CARD,
                                   fee_fen=2_000, language="en", write_card=desk.station.write_card(screen.control))


def test_replacement_issues_the_new_card_with_the_old_balance(desk, screen):
    old_uid = desk.uid()
    hh = desk.mini.household_ids[0]
    with unit_of_work(desk.factory) as s:
        cards.report_loss(s, desk.mini.till, household_id=hh, card_id=desk.card_id(), language="en")
    desk.cards[NEW] = VirtualMifareCard(bytes.fromhex(NEW))
    desk.present(old_uid)  # a worn card still on the reader is not the new one
    screen.on(Stage.PLACE_CARD, lambda: desk.present(NEW))
    assert desk.station.wait_for_card(screen.control, 5.0, not_uid=old_uid) == NEW
    out = replace(desk, screen, NEW)
    assert out.outcome.status is PaymentStatus.SUCCEEDED and out.card_written and out.transferred_fen == 48_000
    image = desk.read(NEW)
    assert image.mac_ok and image.state == (48_000, 0) and image.record.issue_seq == 2
    desk.present(NEW)
    desk.station.check_tap(NEW)
    with unit_of_work(desk.factory) as s:
        state = cards.ledger_card_state(s, out.new_card_id)
    assert (state.value_fen, state.counter, state.pending) == (48_000, 0, ())
    desk.present(old_uid)
    with pytest.raises(CardReplaced):
        desk.station.check_tap(old_uid)


@pytest.mark.parametrize("cut", [1, 3, 6, 9])
def test_new_card_pulled_while_being_issued_is_issued_at_its_next_tap(desk, screen, cut):
    desk.cards[NEW] = VirtualMifareCard(bytes.fromhex(NEW))
    desk.present(NEW)
    desk.sim.remove_card_after_ops(cut)
    out = replace(desk, screen, NEW, key=f"rep{cut}")
    assert out.outcome.status is PaymentStatus.SUCCEEDED and not out.card_written and out.write_error == "E4010"
    with unit_of_work(desk.factory) as s:
        assert [w.kind for w in cards.pending_card_writes(s, out.new_card_id)] == ["issue"]
    desk.present(NEW)
    desk.station.check_tap(NEW)
    assert desk.read(NEW).state == (48_000, 0)
    with unit_of_work(desk.factory) as s:
        assert cards.pending_card_writes(s, out.new_card_id) == ()


def test_waiting_for_a_new_card_can_be_cancelled(desk, screen):
    from kiosk.errors import NoCardPresented, PaymentCancelled

    desk.sim.remove()
    with pytest.raises(NoCardPresented):
        desk.station.wait_for_card(screen.control, 0.3)
    screen.on(Stage.PLACE_CARD, screen.control.cancel)
    with pytest.raises(PaymentCancelled):
        desk.station.wait_for_card(screen.control, 5.0)
