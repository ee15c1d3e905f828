"""The card picker and the card states on the resident's pages: a tapped card is the card; after a unit + PIN
sign-in with several cards, top-up, card loss and card-balance payment ask which card (Kivy-free, on the fake)."""
from __future__ import annotations

from kiosk.flows.card_picker import PICK_STEP
from kiosk.flows.records import CardStatus
from tests.flows.test_phase2_journeys import _sign_in_unit


def _h5(nav) -> None:
    _sign_in_unit(nav, "3-0606", "8642")  # resident ¥80, smart ¥25, vehicle ¥10 (plate 粤B·12345)


def test_unit_sign_in_with_several_cards_shows_them_as_buttons_with_kind_digits_plate_state_and_balance(nav):
    _h5(nav)
    nav.go("top_up")
    view = nav.flow.view()
    assert view.step == PICK_STEP and view.prompt == "请选择要办理的卡"
    assert [o.label for o in view.options] == [
        "住户卡 尾号EE01\n正常使用 · 余额 ¥80.00",
        "智能卡 尾号EE02\n正常使用 · 余额 ¥25.00",
        "车辆IC卡 尾号EE03  粤B·12345\n正常使用 · 余额 ¥10.00",
    ]
    assert all(o.enabled for o in view.options) and not any(o.selected for o in view.options)


def test_the_second_card_picked_is_the_card_topped_up(nav, fake):
    _h5(nav)
    nav.go("top_up")
    flow = nav.flow
    flow.choose("C0FFEE02")
    assert flow.view().step == "amount" and flow.summary.card_uid == "C0FFEE02"
    flow.choose("5000")
    flow.choose("cash")
    assert ("卡片", "智能卡 尾号EE02") in flow.view().lines  # the confirm page names the card
    flow.primary()
    view = flow.view()
    assert view.step == "done" and ("充值后余额", "¥75.00") in view.lines
    assert fake.cards["C0FFEE02"].balance_fen == 7500 and fake.cards["C0FFEE01"].balance_fen == 8000


def test_back_from_the_first_step_returns_to_the_picker(nav):
    _h5(nav)
    nav.go("top_up")
    nav.flow.choose("C0FFEE03")
    nav.flow.back()
    view = nav.flow.view()
    assert view.step == PICK_STEP and [o.selected for o in view.options] == [False, False, True]


def test_a_card_that_cannot_be_topped_up_says_why_in_words(nav, fake):
    fake.cards["C0FFEE02"].status = CardStatus.LOST
    fake.cards["C0FFEE03"].status, fake.cards["C0FFEE03"].frozen_by_staff = CardStatus.FROZEN, True
    _h5(nav)
    nav.go("top_up")
    options = nav.flow.view().options
    assert [(o.enabled, o.reason) for o in options] == [(True, ""), (False, "已挂失"), (False, "已由工作人员冻结")]
    nav.flow.choose("C0FFEE02")  # refused: stays on the picker
    assert nav.flow.view().step == PICK_STEP


def test_a_tapped_card_is_the_card_without_a_picker(nav, fake):
    nav.flow.card_tapped("C0FFEE03")
    nav.go("top_up")
    flow = nav.flow
    assert flow.view().step == "amount" and flow.summary.card_uid == "C0FFEE03"
    flow.choose("5000")
    flow.choose("cash")
    flow.primary()
    assert fake.cards["C0FFEE03"].balance_fen == 6000


def test_a_household_with_one_card_goes_straight_on(nav):
    _sign_in_unit(nav, "1-0302", "1234")
    nav.go("top_up")
    assert nav.flow.view().step == "amount" and nav.flow.summary.card_uid == "A1B2C3D4"


def test_household_page_lists_every_card_after_a_unit_sign_in(nav):
    _h5(nav)
    view = nav.flow.view()
    assert view.balance == "—"
    assert view.card_note.splitlines() == ["住户卡 尾号EE01 · 正常使用 · 余额 ¥80.00",
                                           "智能卡 尾号EE02 · 正常使用 · 余额 ¥25.00",
                                           "车辆IC卡 尾号EE03  粤B·12345 · 正常使用 · 余额 ¥10.00"]


def test_resident_freezes_a_picked_card_then_unfreezes_it(nav, fake):
    _h5(nav)
    nav.go("card_loss")
    nav.flow.choose("C0FFEE02")
    options = {o.key: o for o in nav.flow.view().options}
    assert options["freeze"].enabled and not options["unfreeze"].enabled
    assert ("状态", "正常使用") in nav.flow.view().lines
    nav.flow.choose("freeze")
    assert ("", "冻结期间此卡不能使用，可随时在本机解冻，卡内余额不变。") in nav.flow.view().lines
    nav.flow.primary()
    assert nav.flow.view().step == "done" and fake.cards["C0FFEE02"].status is CardStatus.FROZEN
    assert ("状态", "已冻结") in nav.flow.view().lines
    nav.flow.primary()  # Done: back home
    nav.go("card_loss")
    picker = {o.key: o for o in nav.flow.view().options}
    assert picker["C0FFEE02"].label.endswith("已冻结 · 余额 ¥25.00")
    nav.flow.choose("C0FFEE02")
    options = {o.key: o for o in nav.flow.view().options}
    assert options["unfreeze"].enabled and not options["freeze"].enabled
    nav.flow.choose("unfreeze")
    nav.flow.primary()
    assert fake.cards["C0FFEE02"].status is CardStatus.ACTIVE and nav.flow.view().step == "done"


def test_staff_freeze_and_a_lost_card_cannot_be_lifted_from_the_residents_menu(nav, fake):
    fake.cards["C0FFEE02"].status, fake.cards["C0FFEE02"].frozen_by_staff = CardStatus.FROZEN, True
    fake.cards["C0FFEE03"].status = CardStatus.LOST
    _h5(nav)
    nav.go("card_loss")
    nav.flow.choose("C0FFEE02")
    unfreeze = {o.key: o for o in nav.flow.view().options}["unfreeze"]
    assert not unfreeze.enabled and unfreeze.reason == "此卡由工作人员冻结，请联系工作人员"
    nav.flow.back()
    nav.flow.choose("C0FFEE03")
    options = {o.key: o for o in nav.flow.view().options}
    assert not options["unfreeze"].enabled and options["unfreeze"].reason == "找到卡了？请在登录页刷这张卡并输入密码解挂"
    assert options["replace"].enabled and not options["lost"].enabled


def test_pay_fees_offers_each_cards_balance_and_pays_from_the_one_chosen(nav, fake):
    _h5(nav)
    nav.go("pay_fees")
    flow = nav.flow
    methods = {m.method: m for m in flow.view().methods}
    assert "card" not in methods  # no single "card balance": each card is its own button
    assert methods["card:C0FFEE01"].enabled and methods["card:C0FFEE01"].label.startswith("卡内余额: 住户卡 尾号EE01")
    assert not methods["card:C0FFEE03"].enabled and methods["card:C0FFEE03"].reason == "余额不足"  # ¥10 < ¥60
    flow.choose_method("card:C0FFEE01")
    assert [m.selected for m in flow.view().methods if m.method.startswith("card:")] == [True, False, False]
    flow.next()
    assert flow.view().confirm_method == "卡内余额（住户卡 尾号EE01）"
    flow.confirm()
    assert flow.view().step.value == "done" and fake.cards["C0FFEE01"].balance_fen == 2000
    assert fake.cards["C0FFEE02"].balance_fen == 2500


def test_a_card_laid_on_the_reader_at_the_picker_is_the_card_chosen_and_never_a_new_sign_in(nav):
    _h5(nav)
    nav.go("top_up")
    nav.flow.card_tapped("c0ffee03")
    assert nav.route.name == "top_up" and nav.flow.view().step == "amount"
    assert nav.flow.summary.card_uid == "C0FFEE03"
    nav.flow.card_tapped("A1B2C3D4")  # another household's card mid-journey: ignored, still this journey
    assert nav.route.name == "top_up" and nav.session.identity.household_id == "H5"
    nav.flow.choose("5000")
    nav.flow.choose("cash")
    assert ("", "请按提示将这张卡放到读卡区，充值金额将写入卡内。") in nav.flow.view().lines
