"""`kiosk demo`'s cards: every database card issued on the simulated reader through the real driver, saved
and loaded on the next start; the assembled runtime's facade then identifies and charges them."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from kiosk.app_runtime.demo_cards import cards_path
from kiosk.flows import records as r
from kiosk.payments.control import PaymentControl
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Card, StaffUser
from kiosk.services import cards
from tests.support.demo_site import seeded_site, start_demo


@pytest.fixture
def site(engine, factory, db_url, tmp_path):  # type: ignore[no-untyped-def]
    s, db, _till, _report = seeded_site(engine, factory, db_url, tmp_path / "data", households=6)
    return s, db


def test_demo_cards_are_issued_once_saved_and_then_identified_and_charged(site, factory):
    settings, db = site
    with unit_of_work(factory) as s:
        total = s.scalar(select(func.count()).select_from(Card))  # + the demo staff's badges, never issued
        total += s.scalar(select(func.count()).select_from(StaffUser).where(StaffUser.card_uid_hex.is_not(None)))
        richest = max(s.scalars(select(Card).where(Card.status == "active")),
                      key=lambda c: cards.card_balance(s, c.id))
        uid, card_id, household_id = richest.uid_hex, richest.id, richest.household_id
    rt, sims = start_demo(settings, db)
    try:
        assert len(sims.cards) == total and cards_path(settings.data_dir).exists()
        sims.reader.present(sims.cards[uid])
        ident = rt.services.identify_card(uid)  # check_tap: MAC, record, counter and value against the ledger
        assert ident.household_id == str(household_id)
        summary = rt.services.household_summary(ident.household_id)
        bill = min(summary.bills, key=lambda b: b.amount_fen)
        with unit_of_work(factory) as s:
            before = cards.card_balance(s, card_id)
        assert before >= bill.amount_fen
        result = rt.services.pay_bills(ident.household_id, (bill.bill_id,), r.PaymentMethod.CARD_BALANCE,
                                       "demo-card", "en", card_uid=uid, control=PaymentControl())
        assert result.balance_after_fen == before - bill.amount_fen
        rt.services.identify_card(uid)  # the card still agrees with the ledger
    finally:
        rt.stop()
    saved = json.loads(cards_path(settings.data_dir).read_text())["cards"]
    assert {c["uid"] for c in saved} == set(sims.cards)
    # the next start loads the images (with the payment on the card) instead of issuing them again
    rt, sims = start_demo(settings, db)
    try:
        assert all(card.operations == 0 for card in sims.cards.values())  # loaded, none issued again
        sims.reader.present(sims.cards[uid])
        rt.services.identify_card(uid)
    finally:
        rt.stop()


def test_a_saved_image_that_no_longer_matches_the_ledger_is_issued_again(site, factory):
    settings, db = site
    with unit_of_work(factory) as s:
        uid = s.scalars(select(Card.uid_hex).where(Card.status == "active").order_by(Card.id)).first()
    rt, sims = start_demo(settings, db)
    rt.stop()
    path = cards_path(settings.data_dir)
    data = json.loads(path.read_text())
    victim = next(c for c in data["cards"] if c["uid"] == uid)
    victim["blocks"][8] = "00" * 16  # counter and MAC gone: the file is stale or damaged
    path.write_text(json.dumps(data))
    rt, sims = start_demo(settings, db)
    try:
        sims.reader.present(sims.cards[uid])
        rt.card_station.check_tap(uid)  # verified against the ledger: issued again, not loaded broken
    finally:
        rt.stop()
