"""Staff cards in `kiosk demo`: seeded with the demo staff, listed by the seed report and the demo bar, simulated
on the reader as plain badges; a tap on the attract screen opens the staff PIN pad (the real runtime, the real
PN532 driver against the simulator), card + PIN signs in with the card holder's role, five wrong PINs lock."""
from __future__ import annotations

import queue

import pytest
from sqlalchemy import select, update

from kiosk import errors
from kiosk.app_runtime.demo import start_demo_runtime
from kiosk.app_runtime.demo_controls import DemoControls
from kiosk.cli.seed_cmds import print_report
from kiosk.flows import records as r
from kiosk.flows.navigator import Navigator
from kiosk.flows.runner import InlineRunner
from kiosk.flows.session import Session
from kiosk.flows.staff import UnlockStep
from kiosk.flows.tool_records import DemoCard
from kiosk.payments.control import PaymentControl
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Card, StaffUser
from kiosk.runtime.events import CardPresented
from tests.support.demo_site import seeded_site, site_noon, start_demo

STAFF01, TECH01 = "5AFF0001", "5AFF0002"


@pytest.fixture
def site(engine, factory, db_url, tmp_path):  # type: ignore[no-untyped-def]
    s, db, _till, report = seeded_site(engine, factory, db_url, tmp_path / "data", households=3)
    return s, db, report


@pytest.fixture
def demo(site):  # type: ignore[no-untyped-def]
    settings, db, _report = site
    rt, sims = start_demo(settings, db)
    yield rt, sims
    rt.stop()


def _tap(rt, sims, uid: str) -> str:  # type: ignore[no-untyped-def]
    """Lay the card on the simulated reader through the demo bar; the UID the card watcher reports."""
    taps: queue.Queue[CardPresented] = queue.Queue()
    unsubscribe = rt.bus.subscribe(CardPresented, taps.put)
    try:
        DemoControls(sims, rt).present(uid)
        return taps.get(timeout=5).tag.uid.hex
    finally:
        unsubscribe()


def _kiosk(rt) -> Navigator:  # type: ignore[no-untyped-def]
    nav = Navigator(rt.services, Session(), InlineRunner(), clock=site_noon)
    nav.go("attract")
    assert nav.route.name == "attract"
    return nav


def _type(flow, digits: str) -> None:  # type: ignore[no-untyped-def]
    for d in digits:
        flow.key(d)
    flow.submit()


def test_seed_report_names_each_demo_staff_members_card(site, factory, capsys):
    _settings, _db, report = site
    assert [(name, card) for name, _role, _pin, card in report.staff] == \
        [("staff01", STAFF01), ("tech01", TECH01), ("admin01", "5AFF0003")]
    print_report(report)
    lines = capsys.readouterr().out.splitlines()
    assert any("staff01" in line and "246810" in line and STAFF01 in line for line in lines)
    with unit_of_work(factory) as s:
        staff_cards = set(s.scalars(select(StaffUser.card_uid_hex)))
        resident_cards = set(s.scalars(select(Card.uid_hex)))
    assert staff_cards == {STAFF01, TECH01, "5AFF0003"} and not staff_cards & resident_cards


def test_staff_cards_are_simulated_as_badges_and_listed_as_staff_cards_in_every_language(demo):
    rt, sims = demo
    for uid in (STAFF01, TECH01, "5AFF0003"):
        badge = sims.cards[uid]
        assert badge.blocks[4] == bytes(16) and badge.operations == 0  # no card application on it
    controls = DemoControls(sims, rt)
    for language, label in (("zh_Hans", "员工卡 staff01"), ("zh_Hant", "員工卡 staff01"), ("en", "Staff card staff01")):
        cards = controls.cards(language)
        assert DemoCard(STAFF01, label) in cards
        kinds = [0 if c.uid.startswith("D") else 1 if c.uid.startswith("5AFF") else 2 for c in cards]
        assert kinds == sorted(kinds)  # residents' cards, then staff cards, then blank ones


def test_residents_cards_are_listed_in_words_of_the_kiosks_language(demo, factory):
    rt, sims = demo
    with unit_of_work(factory) as s:
        s.execute(update(Card).where(Card.uid_hex == next(u for u in sims.cards if u.startswith("D")))
                  .values(status="lost"))
    controls = DemoControls(sims, rt)
    for language, words in (("zh_Hans", ("住户卡", "已挂失")), ("zh_Hant", ("住戶卡", "已掛失")),
                            ("en", ("Resident card", "Reported lost"))):
        residents = [c.label for c in controls.cards(language) if c.uid.startswith("D")]
        assert residents and all(label.split(" ", 1)[0].count("-") == 1 for label in residents)  # "1-0101 ..."
        assert any(label.endswith(words[0]) for label in residents)
        assert sum(f"({words[1]})" in label for label in residents) == 1
        assert not any(f" {kind}" in label for label in residents for kind in ("resident", "smart", "vehicle"))
        assert not any("(lost)" in label for label in residents)  # the database's words are never shown


def test_staff_card_tap_then_pin_signs_in_with_the_card_holders_role(demo):
    rt, sims = demo
    nav = _kiosk(rt)
    nav.flow.card_tapped(_tap(rt, sims, TECH01))  # what the app does with the watcher's CardPresented
    assert nav.route.name == "staff_unlock" and nav.flow.card_uid == TECH01
    assert nav.flow.view().error is None  # no "unknown card" or "card could not be read" refusal
    _type(nav.flow, "135790")
    assert nav.route.name == "staff_home"
    assert nav.session.staff.name == "tech01" and nav.session.staff.role is r.StaffRole.TECHNICIAN
    assert nav.session.identity is None
    assert sims.cards[TECH01].operations == 0  # only its UID was read


def test_five_wrong_pins_after_a_staff_card_lock_that_account(demo):
    rt, sims = demo
    nav = _kiosk(rt)
    nav.flow.card_tapped(_tap(rt, sims, STAFF01))
    for _ in range(4):
        _type(nav.flow, "000000")
        view = nav.flow.view()
        assert view.step is UnlockStep.PIN and view.error.code == errors.WrongPin.code
    _type(nav.flow, "000000")
    view = nav.flow.view()
    assert view.step is UnlockStep.LOCKED and view.error.code == errors.AccountLocked.code
    nav.go("attract")
    nav.flow.card_tapped(STAFF01)  # the card again, now with the right PIN: still locked
    _type(nav.flow, "246810")
    assert nav.flow.view().error.code == errors.AccountLocked.code and nav.session.staff is None
    with pytest.raises(errors.AccountLocked):
        rt.services.staff_sign_in("246810", STAFF01)
    nav.go("attract")  # another staff member's card is not locked
    nav.flow.card_tapped(_tap(rt, sims, TECH01))
    _type(nav.flow, "135790")
    assert nav.route.name == "staff_home"


def test_a_staff_card_cannot_become_a_residents_replacement_card(demo, factory):
    rt, _sims = demo
    with unit_of_work(factory) as s:
        card = s.scalars(select(Card).order_by(Card.id)).first()
        household, uid = str(card.household_id), card.uid_hex
    with pytest.raises(errors.AlreadyDone):
        rt.services.replace_card(household, uid, STAFF01, r.PaymentMethod.CASH, "staff-badge", "en",
                                 control=PaymentControl())


def test_a_demo_database_seeded_before_staff_cards_gets_them_at_the_next_demo_start(site, factory):
    settings, db, _report = site
    with unit_of_work(factory) as s:
        s.execute(update(StaffUser).values(card_uid_hex=None))
    rt, sims = start_demo_runtime(settings, db)
    try:
        with unit_of_work(factory) as s:
            given = {name: uid for name, uid in s.execute(select(StaffUser.name, StaffUser.card_uid_hex))}
        assert given == {"staff01": STAFF01, "tech01": TECH01, "admin01": "5AFF0003"}
        assert {STAFF01, TECH01, "5AFF0003"} <= set(sims.cards)
    finally:
        rt.stop()
