"""A card flagged as tampered is refused at every tap, for every use, until staff repair it (docs/card-reader.md):
through the real PN532 driver and the wire-level simulator, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from devices.sim.mifare_card import VirtualMifareCard
from kiosk.cards.repair import CardRepairDesk
from kiosk.domain.terms import PaymentMethod, PaymentStatus
from kiosk.errors import CardFlagged, CardTampered
from kiosk.i18n import LANGUAGES
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Card, CardOperation, JournalEntry, Payment
from kiosk.services import card_replacement, card_states, card_value, cards, households, payments

STAFF = "staff:Li Na"
PIN = "246813"


def never(_payment) -> None:  # type: ignore[no-untyped-def]
    raise AssertionError("money moved for a flagged card")


def books(desk) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """(journal entries, payments, card operations): a refused use adds none."""
    with unit_of_work(desk.factory) as s:
        return tuple(int(s.scalar(select(func.count()).select_from(m)) or 0)  # type: ignore[return-value]
                     for m in (JournalEntry, Payment, CardOperation))


def flag_by_tampering(desk, uid: str) -> VirtualMifareCard:  # type: ignore[no-untyped-def]
    """Someone flips one bit of the MAC: the tap refuses the card and flags it; then the genuine bytes are back."""
    genuine = VirtualMifareCard.from_json(desk.cards[uid].to_json())
    desk.cards[uid].blocks[8][7] ^= 0x01
    desk.present(uid)
    with pytest.raises(CardTampered):
        desk.station.check_tap(uid)
    desk.cards[uid] = genuine  # even the card as the kiosk wrote it stays refused
    desk.present(uid)
    return genuine


def every_use(desk, screen, uid: str, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    """Each use of the card, tapped; the code each one was refused with."""
    hh = desk.mini.household_ids[0]
    card_id = desk.card_id()
    bills = desk.mini.bill_ids[hh]
    uses = {
        "tap": lambda: desk.station.check_tap(uid),
        "sign in with the card": lambda: _identify(desk, uid),
        "pay by card balance": lambda: payments.pay_bills(
            desk.factory, desk.mini.till, key=f"pay-{n}", household_id=hh, bill_ids=bills[:1],
            method=PaymentMethod.CARD, card_id=card_id, language="en",
            move_money=desk.station.spend_mover(uid, screen.control)),
        # the flag is refused before the payment is looked at: a payment that is not there serves
        "card payment already under way": lambda: desk.station.spend_mover(uid, screen.control)(Payment(id=-1)),
        "top up": lambda: card_value.top_up(desk.factory, desk.mini.till, key=f"top-{n}", card_uid=uid,
                                            amount_fen=1_000, method=PaymentMethod.CASH, language="en",
                                            move_money=never, write_card=desk.station.write_card(screen.control)),
        "unfreeze": lambda: _freeze_then_unfreeze(desk, card_id),
        "unblock the card with the PIN": lambda: _unblock_with_pin(desk, uid),
        "replace it (balance moved from it)": lambda: card_replacement.replace_card(
            desk.factory, desk.mini.till, key=f"rep-{n}", household_id=hh, old_card_id=card_id,
            new_uid=f"C1C2C3{n:02X}", method=PaymentMethod.CASH, fee_fen=2_000, language="en", move_money=never),
    }
    codes = []
    for name, use in uses.items():
        desk.present(uid)
        with pytest.raises(CardFlagged) as info:
            use()
        assert all("staff" in info.value.user_message(lang) or "工作人員" in info.value.user_message(lang)
                   or "工作人员" in info.value.user_message(lang) for lang in LANGUAGES), name
        codes.append(info.value.code)
    return codes


def _identify(desk, uid: str) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(desk.factory) as s:
        cards.identify_card(s, uid)


def _freeze_then_unfreeze(desk, card_id: int) -> None:  # type: ignore[no-untyped-def]
    hh = desk.mini.household_ids[0]
    with unit_of_work(desk.factory) as s:  # freezing a card is always allowed: it only protects the holder
        if cards.get_card(s, card_id).status == "active":
            cards.freeze_card(s, card_id=card_id, actor="kiosk:K01", household_id=hh)
    with unit_of_work(desk.factory) as s:
        cards.unfreeze_card(s, desk.mini.till, household_id=hh, card_id=card_id, language="en")


def _unblock_with_pin(desk, uid: str) -> None:  # type: ignore[no-untyped-def]
    """The frozen card tapped with the household PIN (as a found lost card is)."""
    card_states.unblock_found_card(desk.factory, desk.mini.till, uid=uid, pin=PIN, language="en")


def test_a_flagged_card_is_refused_at_every_tap_for_every_use_until_staff_repair_it(desk, screen):
    uid = desk.uid()
    with unit_of_work(desk.factory) as s:
        households.set_household_pin(s, desk.mini.household_ids[0], PIN, actor="staff:test")
    flag_by_tampering(desk, uid)
    before, value = books(desk), desk.ledger()
    for n in range(3):  # tap after tap: never once let through
        assert set(every_use(desk, screen, uid, n)) == {"E4014"}
    assert desk.ledger() == value and books(desk) == before  # nothing charged, nothing written, no intent
    with unit_of_work(desk.factory) as s:
        assert s.get(Card, desk.card_id()).flagged_reason.startswith("E4005")
    # staff repair it: the flag is cleared, and the next taps pay again
    desk.present(uid)
    assert CardRepairDesk(desk.station).repair(uid, STAFF).flag_reason.startswith("E4005")
    _unfreeze_if_frozen(desk)
    for n in range(2):
        desk.present(uid)
        desk.station.check_tap(uid)
    hh = desk.mini.household_ids[0]
    desk.present(uid)
    out = payments.pay_bills(desk.factory, desk.mini.till, key="after-repair", household_id=hh,
                             bill_ids=desk.mini.bill_ids[hh][:1], method=PaymentMethod.CARD, card_id=desk.card_id(),
                             language="en", move_money=desk.station.spend_mover(uid, screen.control))
    assert out.status is PaymentStatus.SUCCEEDED and desk.read(uid).value_fen == 50_000 - 10_000


def _unfreeze_if_frozen(desk) -> None:  # type: ignore[no-untyped-def]
    """The refused uses above froze the card on the way (the resident's own freeze is allowed): lift it."""
    hh = desk.mini.household_ids[0]
    with unit_of_work(desk.factory) as s:
        if cards.get_card(s, desk.card_id()).status == "frozen":
            cards.unfreeze_card(s, desk.mini.till, household_id=hh, card_id=desk.card_id(), language="en")


def test_a_card_flagged_meanwhile_is_refused_on_the_way_to_a_payment(desk, screen):
    """Flagged after the person chose to pay (at another tap, or by staff's check): the payment's own tap refuses
    it before the card is written, and the payment fails with nothing taken."""
    uid = desk.uid()
    hh = desk.mini.household_ids[0]

    def flagged_now_then_tap(payment):  # type: ignore[no-untyped-def]
        with unit_of_work(desk.factory) as s:
            cards.flag_card(s, desk.card_id(), "E4006 seen at another kiosk", "kiosk:K02")
        desk.station.spend_mover(uid, screen.control)(payment)

    desk.present(uid)
    with pytest.raises(CardFlagged):
        payments.pay_bills(desk.factory, desk.mini.till, key="k", household_id=hh, bill_ids=desk.mini.bill_ids[hh][:1],
                           method=PaymentMethod.CARD, card_id=desk.card_id(), language="en",
                           move_money=flagged_now_then_tap)
    assert desk.ledger() == (50_000, 0, 0) and desk.read(uid).state == (50_000, 0)
    with pytest.raises(CardFlagged):  # asked again: the same failure (honest retries)
        payments.pay_bills(desk.factory, desk.mini.till, key="k", household_id=hh, bill_ids=desk.mini.bill_ids[hh][:1],
                           method=PaymentMethod.CARD, card_id=desk.card_id(), language="en", move_money=never)
