"""Staff card repair through the assembled kiosk: the demo runtime (real PN532 driver <-> simulator, card watcher,
facade, database) and the Kivy-free flows on a navigator - a tampered card is refused at a resident's tap, listed
for staff, checked, rewritten from the ledger and then signs its household in; every staff call is audited."""
from __future__ import annotations

import json
import queue

from sqlalchemy import select

from kiosk.app_runtime.demo_controls import DemoControls
from kiosk.flows.navigator import Navigator
from kiosk.flows.runner import InlineRunner
from kiosk.flows.session import Session
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import AuditEntry, Card
from kiosk.runtime.events import CardPresented, CardRemovedEvent
from kiosk.services import cards
from tests.support.demo_site import site_noon

STAFF01 = "5AFF0001"


def _tap(rt, sims, uid: str) -> str:  # type: ignore[no-untyped-def]
    """Take whatever lies on the reader off (the watcher reports it gone), then lay `uid` on it."""
    events: queue.Queue[object] = queue.Queue()
    unsubscribe = rt.bus.subscribe(CardPresented, events.put)
    unsubscribe_gone = rt.bus.subscribe(CardRemovedEvent, events.put)
    try:
        if DemoControls(sims, rt).on_reader():
            DemoControls(sims, rt).remove()
            assert isinstance(events.get(timeout=5), CardRemovedEvent)
        DemoControls(sims, rt).present(uid)
        event = events.get(timeout=5)
        assert isinstance(event, CardPresented)
        return event.tag.uid.hex
    finally:
        unsubscribe()
        unsubscribe_gone()


def _resident_card(factory) -> str:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as s:
        return s.scalars(select(Card.uid_hex).where(Card.kind == "resident", Card.status == "active")
                         .order_by(Card.id)).first()


def test_tampered_card_is_refused_listed_checked_rewritten_from_the_ledger_and_then_signs_in(demo_on_sims, factory):
    rt, sims = demo_on_sims
    uid = _resident_card(factory)
    with unit_of_work(factory) as s:
        balance = cards.card_balance(s, cards.card_by_uid(s, uid).id)
    sims.cards[uid].blocks[8][9] ^= 0x01  # one bit of the MAC
    nav = Navigator(rt.services, Session(), InlineRunner(), clock=site_noon)
    nav.go("attract")
    nav.flow.card_tapped(_tap(rt, sims, uid))
    assert nav.route.name == "identify" and nav.flow.view().error.code == "E4005"

    nav.flow.card_tapped(_tap(rt, sims, STAFF01))
    assert nav.route.name == "staff_unlock"
    for d in "246810":
        nav.flow.key(d)
    nav.flow.submit()
    nav.flow.open("staff_cards")
    view = nav.flow.view()
    assert view.step == "list" and any(uid[-4:] in label or "E4005" in value for label, value in view.lines)

    nav.flow.card_tapped(_tap(rt, sims, uid))  # a tap while the repair page is open comes here
    assert nav.route.name == "staff_cards" and nav.session.identity is None
    check = nav.flow.check
    assert check is not None and not check.mac_ok and check.needs_repair
    assert check.ledger_value_fen == balance and check.flag_reason.startswith("E4005")
    nav.flow.primary()
    nav.flow.primary()
    view = nav.flow.view()
    assert view.step == "done", view.error
    assert nav.flow.result.balance_fen == balance and nav.flow.result.new_counter == check.ledger_counter + 1

    with unit_of_work(factory) as s:
        card = cards.card_by_uid(s, uid)
        assert card.flagged_reason == "" and cards.card_balance(s, card.id) == balance
        rows = {a.action: (a.actor, json.loads(a.details)) for a in s.scalars(select(AuditEntry))}
    assert rows["card.repaired"][0] == "staff:staff01"
    assert rows["card.repaired"][1]["reason"].startswith("E4005")
    assert {"cards.flagged_listed", "card.checked", "card.repair_started"} <= set(rows)

    nav.flow.back()
    nav.flow.back()
    nav.flow.lock()
    nav.flow.card_tapped(_tap(rt, sims, uid))  # the resident's next tap: accepted again
    assert nav.route.name == "household" and nav.session.identity.card_uid == uid
