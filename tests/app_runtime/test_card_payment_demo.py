"""A card payment through the kiosk's own facade (`rt.services`, as the screens call it) on `kiosk demo`'s runtime:
the real PN532 driver against the simulated reader and a real database."""
from __future__ import annotations

from sqlalchemy import select

from kiosk.app_runtime.demo_controls import DemoControls
from kiosk.flows import records as r
from kiosk.payments.control import PaymentControl
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Card, CardOperation


def test_a_card_payment_through_the_kiosk_leaves_its_card_write_done_with_the_payment(demo_on_sims, factory):
    """The kiosk wraps each money mover (the database-outage guard): what the card station's mover returns (its
    write, to be marked done by the settlement) must reach the settlement. Dropped, the write would stay pending
    after the payment settled, and a void before the card's next tap would write the card from the wrong counter
    (the crash harness's void flow found exactly that)."""
    rt, sims = demo_on_sims
    with unit_of_work(factory) as s:
        card = s.scalars(select(Card).where(Card.kind == "resident", Card.status == "active").order_by(Card.id)).first()
        uid, household_id = card.uid_hex, str(card.household_id)
    DemoControls(sims, rt).present(uid)
    rt.services.identify_card(uid)
    bill = rt.services.household_summary(household_id).bills[0]
    res = rt.services.pay_bills(household_id, (bill.bill_id,), r.PaymentMethod.CARD_BALANCE, "card-at-reader", "en",
                                card_uid=uid, control=PaymentControl())
    assert res.receipt_number
    with unit_of_work(factory) as s:
        spends = list(s.scalars(select(CardOperation.status).join(Card, Card.id == CardOperation.card_id)
                                .where(Card.uid_hex == uid, CardOperation.kind == "spend")))
    assert spends == ["done"]
