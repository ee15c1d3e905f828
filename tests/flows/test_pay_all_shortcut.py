"""Pay all from card balance: after a card tap the household page offers every bill due from that card's balance
when it covers them; one tap opens the pay page on its confirm step (never skipped), confirm pays, Done is home.
Every rule of the pay page holds: the card picker, frozen cards, hours, staff switches, the printer check, credit."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from kiosk.flows.navigator import Navigator
from kiosk.flows.pay_fees import PayStep
from kiosk.flows.records import CardStatus, Feature, SwitchedOffView
from kiosk.flows.runner import InlineRunner
from kiosk.flows.session import Session
from tests.support.fakes.data import MALL_HOURS
from tests.support.fakes.services import FakeKioskServices

TOTAL_H1 = 81930  # the four bills of household H1 (card A1B2C3D4)


def _rich(fake: FakeKioskServices, uid: str = "A1B2C3D4", balance: int = 100_000) -> None:
    fake.cards[uid].balance_fen = balance


def _sign_in_with_unit(nav: Navigator, unit: str, pin: str) -> None:
    nav.go("identify")
    nav.flow.use_keypad()
    for char in unit:
        nav.flow.key(char)
    nav.flow.submit()
    for char in pin:
        nav.flow.key(char)
    nav.flow.submit()
    assert nav.route.name == "household"


def test_after_a_card_tap_all_bills_are_paid_from_the_card_in_three_taps(nav, fake):
    _rich(fake)
    nav.flow.card_tapped("A1B2C3D4")
    assert nav.flow.view().pay_all == "用卡内余额缴清全部 ¥819.30"
    nav.flow.pay_all()  # tap 1
    view = nav.flow.view()
    assert nav.route.name == "pay_fees" and view.step is PayStep.CONFIRM  # the confirm page is never skipped
    assert len(view.confirm_lines) == 4 and view.total == "¥819.30"
    assert view.confirm_method == "卡内余额（住户卡 尾号C3D4）" and view.confirm_caption == "确认支付"
    assert fake.cards["A1B2C3D4"].balance_fen == 100_000 and fake.printed == []  # nothing charged before confirm
    nav.flow.confirm()  # tap 2
    view = nav.flow.view()
    assert view.step is PayStep.DONE and ("卡内余额", "¥180.70") in view.result_lines
    assert fake.cards["A1B2C3D4"].balance_fen == 100_000 - TOTAL_H1 and fake.households["H1"].bills == {}
    nav.flow.back()  # tap 3: "Done"
    assert nav.route.name == "household" and nav.flow.view().bills == () and nav.flow.view().pay_all == ""


def test_not_offered_when_the_card_does_not_cover_every_bill(signed_in):
    view = signed_in.flow.view()  # ¥200.00 on the card, ¥819.30 due
    assert view.pay_all == "" and view.balance == "¥200.00"


def test_back_from_the_shortcut_confirm_returns_home_with_nothing_charged(nav, fake):
    _rich(fake)
    nav.flow.card_tapped("A1B2C3D4")
    nav.flow.pay_all()
    nav.flow.back()
    assert nav.route.name == "household" and fake.cards["A1B2C3D4"].balance_fen == 100_000
    assert len(fake.households["H1"].bills) == 4


def test_the_pay_page_rechecks_and_falls_back_to_the_choice_when_the_card_no_longer_covers(nav, fake):
    _rich(fake)
    nav.flow.card_tapped("A1B2C3D4")
    fake.cards["A1B2C3D4"].balance_fen = 500  # spent elsewhere since the household page was drawn
    nav.flow.pay_all()
    view = nav.flow.view()
    assert view.step is PayStep.CHOOSE and not view.can_continue
    assert not next(m for m in view.methods if m.method == "card").enabled


def test_several_cards_after_a_pin_sign_in_keep_the_card_picker(nav, fake):
    _rich(fake, "C0FFEE01")
    _sign_in_with_unit(nav, "3-0606", "8642")  # three cards: no card is chosen for the resident
    assert nav.flow.view().pay_all == ""
    nav.flow.pay_all()  # not offered: nothing happens
    assert nav.route.name == "household"
    nav.go("pay_fees", pay_all=True)  # even asked for directly, the pay page asks which card
    view = nav.flow.view()
    assert view.step is PayStep.CHOOSE and view.confirm_method == ""
    assert sum(m.method.startswith("card:") for m in view.methods) == 3


def test_the_only_card_after_a_pin_sign_in_is_offered(nav, fake):
    _rich(fake)
    _sign_in_with_unit(nav, "1-0302", "1234")
    assert nav.flow.view().pay_all == "用卡内余额缴清全部 ¥819.30"


def test_a_frozen_card_is_not_offered(nav, fake):
    _rich(fake)
    fake.cards["A1B2C3D4"].status = CardStatus.FROZEN
    _sign_in_with_unit(nav, "1-0302", "1234")
    assert nav.flow.view().pay_all == ""


def test_not_offered_while_staff_switched_pay_fees_off(nav, fake):
    _rich(fake)
    fake.switched_off[Feature.PAY_FEES] = SwitchedOffView(Feature.PAY_FEES, "系统维护中，请稍后再来", "王芳")
    nav.go("attract")  # the attract page reloads the service status
    nav.flow.card_tapped("A1B2C3D4")
    view = nav.flow.view()
    assert view.pay_all == "" and not next(a for a in view.actions if a.key == "pay_fees").enabled


def test_not_offered_outside_the_hours_of_pay_fees():
    sunday_night = datetime(2026, 11, 1, 23, 15)
    fake = FakeKioskServices(now=sunday_night, hours=MALL_HOURS)
    fake.site = replace(fake.site, out_of_hours_features=frozenset({Feature.NOTICES, Feature.RECORDS}))
    _rich(fake)
    nav = Navigator(fake, Session(), InlineRunner(), clock=lambda: sunday_night)
    nav.go("attract")
    nav.flow.card_tapped("A1B2C3D4")
    assert nav.route.name == "household" and nav.flow.view().pay_all == ""


def test_a_printer_out_of_paper_is_said_on_the_shortcut_confirm_before_paying(nav, fake):
    _rich(fake)
    fake.paper = "out"
    nav.flow.card_tapped("A1B2C3D4")
    nav.flow.pay_all()
    view = nav.flow.view()
    assert view.step is PayStep.CONFIRM and view.confirm_caption == "无纸质收据，继续支付"
    assert view.notice.startswith("[ ! ] ")


def test_account_credit_stays_when_all_is_paid_from_the_card(nav, fake):
    _rich(fake)
    fake.households["H1"].credit_fen = 3000
    nav.flow.card_tapped("A1B2C3D4")
    nav.flow.pay_all()
    assert nav.flow.view().credit == "¥30.00"  # said on the confirm page, not spent
    nav.flow.confirm()
    assert fake.households["H1"].credit_fen == 3000 and fake.cards["A1B2C3D4"].balance_fen == 100_000 - TOTAL_H1
