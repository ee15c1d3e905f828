"""A void changes a card's value on the ledger (a card payment given back, a top-up taken back) and records the
card write that brings the card in step; the card's next tap performs that write, read back, once — also when
the card is pulled (or the kiosk dies) part-way through it. Found by the crash harness (tests/crash): the
write was undone at the tap because its payment was voided, so a voided top-up left the card flagged as
tampered, and a card payment's refund was written unrecorded, so a crash during it flagged the card."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from kiosk.domain.terms import PaymentMethod
from kiosk.errors import CardWritePending
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Card, CardOperation
from kiosk.services import card_value, payments, voids
from tests.services.helpers import cash

CUTS = range(1, 12)  # write_value is 12 card operations (tests/cards_e2e/test_top_up_interrupted.py)


def void(desk, receipt_number: str) -> voids.VoidResult:  # type: ignore[no-untyped-def]
    with unit_of_work(desk.factory) as s:
        return voids.void_receipt(s, desk.mini.till, number=receipt_number, reason="wrong bill",
                                  actor="staff:Li Na", language="en")


def paid_by_card(desk, screen) -> str:  # type: ignore[no-untyped-def]
    uid, hh = desk.uid(), desk.mini.household_ids[0]
    desk.present(uid)
    out = payments.pay_bills(desk.factory, desk.mini.till, key="card-pay", household_id=hh,
                             bill_ids=desk.mini.bill_ids[hh][:1], method=PaymentMethod.CARD, language="en",
                             card_id=desk.card_id(), move_money=desk.station.spend_mover(uid, screen.control))
    return out.receipt_number


def ops(desk) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with unit_of_work(desk.factory) as s:
        return [(o.kind, o.status) for o in s.scalars(select(CardOperation).order_by(CardOperation.id))]


def not_flagged(desk) -> bool:  # type: ignore[no-untyped-def]
    with unit_of_work(desk.factory) as s:
        return s.get(Card, desk.card_id()).flagged_reason == ""


def test_voided_card_payment_is_written_back_onto_the_card_by_the_voids_own_write(desk, screen):
    uid = desk.uid()
    receipt = paid_by_card(desk, screen)
    assert void(desk, receipt).card_writes  # the void recorded the write that gives the card its 100 yuan back
    desk.present(uid)
    desk.station.check_tap(uid)
    assert desk.read(uid).state == (50_000, 2) and desk.ledger() == (50_000, 2, 0)
    assert ops(desk) == [("spend", "done"), ("sync", "done")] and not_flagged(desk)
    desk.present(uid)
    desk.station.check_tap(uid)  # and the next tap finds the card in step


def test_voided_top_up_is_taken_back_off_the_card_at_its_next_tap(desk, screen):
    uid = desk.uid()
    desk.present(uid)
    out = card_value.top_up(desk.factory, desk.mini.till, key="top-up", card_uid=uid, amount_fen=1_000,
                            method=PaymentMethod.CASH, language="en",
                            move_money=cash(desk.factory, desk.mini.till, 1_000),
                            write_card=desk.station.write_card(screen.control))
    assert desk.read(uid).state == (51_000, 1)
    void(desk, out.outcome.receipt_number)
    desk.present(uid)
    desk.station.check_tap(uid)  # was: CardTampered, "card holds 51000 fen at counter 1; the ledger says 50000"
    assert desk.read(uid).state == (50_000, 2) and desk.ledger() == (50_000, 2, 0) and not_flagged(desk)


@pytest.mark.parametrize("cut", CUTS)
def test_void_refund_cut_short_at_any_step_is_finished_once_at_the_next_tap(desk, screen, cut):
    uid = desk.uid()
    void(desk, paid_by_card(desk, screen))
    desk.present(uid)
    desk.sim.remove_card_after_ops(cut)
    with pytest.raises(CardWritePending):
        desk.station.check_tap(uid)  # the card leaves part-way through the refund's write
    desk.present(uid)
    desk.station.check_tap(uid)
    image = desk.read(uid)
    assert image.mac_ok and image.state == (50_000, 2) and desk.ledger() == (50_000, 2, 0)
    assert ops(desk) == [("spend", "done"), ("sync", "done")] and not_flagged(desk)


@pytest.mark.parametrize("cut", [3, 8, 11])
def test_a_void_recorded_while_a_top_up_of_the_card_is_open_is_written_after_it_onto_what_it_left(desk, screen, cut):
    """The void's sync write took its old value from the ledger while the card's top-up write was still open; the
    next tap finishes the top-up first, then moves the sync onto what the top-up left (reconcile.rebased). Before,
    the card looked changed to the sync and was flagged as tampered."""
    uid = desk.uid()
    receipt = paid_by_card(desk, screen)
    desk.present(uid)
    desk.sim.remove_card_after_ops(cut)
    with pytest.raises(CardWritePending):
        card_value.top_up(desk.factory, desk.mini.till, key="cut-top-up", card_uid=uid, amount_fen=1_000,
                          method=PaymentMethod.CASH, language="en", move_money=cash(desk.factory, desk.mini.till, 1_000),
                          write_card=desk.station.write_card(screen.control))
    assert void(desk, receipt).card_writes
    desk.present(uid)
    desk.station.check_tap(uid)
    assert not_flagged(desk)
    assert desk.ledger() == (51_000, 3, 0) and desk.read(uid).state == (51_000, 3)
    assert ops(desk)[-2:] == [("top_up", "done"), ("sync", "done")]
    desk.present(uid)
    desk.station.check_tap(uid)  # and the next tap finds the card in step
