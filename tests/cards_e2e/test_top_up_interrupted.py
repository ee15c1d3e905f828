"""Top-up through the real driver: the ledger is final only after the card is read back; a card pulled after
any of the write's card operations is resolved at its next tap — completed or cancelled, never twice."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from kiosk.cards.application import WriteState
from kiosk.domain.terms import AccountKind, EntryKind, PaymentMethod, PaymentStatus
from kiosk.errors import CardWritePending
from kiosk.payments.control import Stage
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import CardOperation, JournalEntry, Payment
from kiosk.services import card_value, ledger
from tests.services.helpers import cash

# write_value is 12 card operations: auth, read x3, auth, read (probe) | write MAC, read | auth, increment,
# transfer, read. The card leaving after op k finds it in this state:
CUTS = range(1, 12)


def found_state(cut: int) -> WriteState:
    return WriteState.NOT_APPLIED if cut < 7 else WriteState.TORN if cut < 11 else WriteState.APPLIED


def top_up(desk, screen, key: str, amount: int = 1_000):  # type: ignore[no-untyped-def]
    return card_value.top_up(desk.factory, desk.mini.till, key=key, card_uid=desk.uid(), amount_fen=amount,
                             method=PaymentMethod.CASH, language="en",
                             move_money=cash(desk.factory, desk.mini.till, amount),
                             write_card=desk.station.write_card(screen.control))


def top_up_entries(factory) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as s:
        return s.scalar(select(func.count()).select_from(JournalEntry)
                        .where(JournalEntry.kind == str(EntryKind.TOP_UP), JournalEntry.payment_id.is_not(None)))


def payment_status(factory) -> str:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as s:
        return s.scalars(select(Payment.status)).one()


def test_top_up_writes_and_verifies_the_card_before_the_ledger_is_final(desk, screen):
    uid = desk.uid()
    desk.present(uid)
    out = top_up(desk, screen, "ok")
    assert out.outcome.status is PaymentStatus.SUCCEEDED and out.card_written
    assert Stage.HOLD_CARD in screen.stages and Stage.PLACE_CARD not in screen.stages
    image = desk.read(uid)
    assert image.mac_ok and image.state == (51_000, 1)
    assert desk.ledger() == (51_000, 1, 0)
    desk.present(uid)
    desk.station.check_tap(uid)  # the card agrees with the ledger


@pytest.mark.parametrize("cut", CUTS)
def test_top_up_cut_at_every_step_is_completed_once_at_the_next_tap(desk, screen, cut):
    uid = desk.uid()
    desk.present(uid)
    desk.sim.remove_card_after_ops(cut)
    with pytest.raises(CardWritePending):
        top_up(desk, screen, f"cut{cut}")
    assert screen.stages[:2] == [Stage.HOLD_CARD, Stage.PLACE_CARD]
    assert desk.ledger() == (50_000, 0, 1) and payment_status(desk.factory) == "intent"
    on_card = desk.read(uid)
    expected = on_card if found_state(cut) is WriteState.NOT_APPLIED else None
    state = desk.app.check_write(on_card, expected or _expected(desk, on_card), 51_000)
    assert state is found_state(cut)
    desk.present(uid)
    desk.station.check_tap(uid)  # the next tap resolves the open write: re-applied or found applied
    assert desk.ledger() == (51_000, 1, 0) and payment_status(desk.factory) == "succeeded"
    assert desk.read(uid).state == (51_000, 1) and top_up_entries(desk.factory) == 1
    desk.present(uid)
    desk.station.check_tap(uid)  # and again: nothing is applied twice
    assert desk.ledger() == (51_000, 1, 0) and desk.read(uid).state == (51_000, 1)
    assert top_up_entries(desk.factory) == 1


@pytest.mark.parametrize("cut", [3, 8, 11])
def test_a_second_top_up_of_a_card_whose_first_was_cut_finishes_the_first_then_adds_its_own(desk, screen, cut):
    """The second top-up's preparation reads what its write's tap needs (CardWrite.at_tap): the card has the first
    top-up's write open, so the tap resolves that first, then writes the second from the first's new value."""
    uid = desk.uid()
    desk.present(uid)
    desk.sim.remove_card_after_ops(cut)
    with pytest.raises(CardWritePending):
        top_up(desk, screen, f"first{cut}")
    desk.present(uid)
    out = top_up(desk, screen, f"second{cut}", amount=2_000)
    assert out.outcome.status is PaymentStatus.SUCCEEDED and out.card_written
    assert desk.ledger() == (53_000, 2, 0) and desk.read(uid).state == (53_000, 2)
    assert top_up_entries(desk.factory) == 2
    with unit_of_work(desk.factory) as s:
        assert list(s.scalars(select(Payment.status).order_by(Payment.id))) == ["succeeded", "succeeded"]
    desk.present(uid)
    desk.station.check_tap(uid)  # the card agrees with the ledger


def _expected(desk, on_card):  # type: ignore[no-untyped-def]
    from dataclasses import replace
    return replace(on_card, value_fen=50_000, counter=0, mac_ok=True)


@pytest.mark.parametrize("cut", [3, 8, 11])
def test_top_up_whose_credit_is_gone_by_the_next_tap_is_cancelled_and_the_card_keeps_the_ledger_value(desk, screen,
                                                                                                        cut):
    uid = desk.uid()
    hh = desk.mini.household_ids[0]
    desk.present(uid)
    desk.sim.remove_card_after_ops(cut)
    with pytest.raises(CardWritePending):
        top_up(desk, screen, f"gone{cut}")
    with unit_of_work(desk.factory) as s:  # meanwhile the household's credit was refunded at the counter
        credit = ledger.account(s, AccountKind.CREDIT, household_id=hh)
        box = ledger.account(s, AccountKind.CASH_BOX, kiosk_id=desk.mini.till.kiosk_id)
        ledger.transfer(s, EntryKind.REFUND, credit, box, 1_000)
    desk.present(uid)
    desk.station.check_tap(uid)
    image = desk.read(uid)
    assert image.mac_ok and image.value_fen == 50_000
    value, counter, open_writes = desk.ledger()
    assert (value, open_writes) == (50_000, 0) and counter == image.counter
    assert counter == (0 if found_state(cut) is WriteState.NOT_APPLIED else 2)
    assert payment_status(desk.factory) == "cancelled" and top_up_entries(desk.factory) == 0
    with unit_of_work(desk.factory) as s:
        assert s.scalars(select(CardOperation.status).where(CardOperation.kind == "top_up")).one() == "cancelled"
    desk.present(uid)
    desk.station.check_tap(uid)


@pytest.mark.parametrize("cut", [4, 8, 11])
def test_card_put_back_while_the_screen_asks_for_it_finishes_the_same_top_up(desk, screen, cut):
    uid = desk.uid()
    desk.present(uid)
    desk.sim.remove_card_after_ops(cut)
    screen.on(Stage.PLACE_CARD, lambda: desk.present(uid))
    out = top_up(desk, screen, f"back{cut}")
    assert out.outcome.status is PaymentStatus.SUCCEEDED and out.card_written
    assert screen.stages == [Stage.HOLD_CARD, Stage.PLACE_CARD, Stage.HOLD_CARD]
    assert desk.ledger() == (51_000, 1, 0) and desk.read(uid).state == (51_000, 1)


def test_kiosk_dying_after_the_card_was_written_completes_the_top_up_at_the_next_tap(desk, screen):
    uid = desk.uid()
    desk.present(uid)
    writer = desk.station.write_card(screen.control)

    def write_then_die(w):  # type: ignore[no-untyped-def]
        writer(w)
        raise KeyboardInterrupt  # the process goes away before the ledger transaction

    with pytest.raises(KeyboardInterrupt):
        card_value.top_up(desk.factory, desk.mini.till, key="crash", card_uid=uid, amount_fen=2_000,
                          method=PaymentMethod.CASH, language="en",
                          move_money=cash(desk.factory, desk.mini.till, 2_000), write_card=write_then_die)
    assert desk.read(uid).state == (52_000, 1) and desk.ledger() == (50_000, 0, 1)
    desk.present(uid)
    desk.station.check_tap(uid)
    assert desk.ledger() == (52_000, 1, 0) and payment_status(desk.factory) == "succeeded"
    assert top_up_entries(desk.factory) == 1
