"""Staff card states in maintenance mode (Kivy-free, fake services): find by tap or unit number, lift a loss,
freeze and unfreeze with a reason from a list; a replaced card says it can never be unblocked; a household's PIN
lock-out is shown and cleared."""
from __future__ import annotations

from datetime import timedelta

from kiosk.flows.records import CardStatus
from kiosk.flows.staff_card_states import CLEAR_PIN
from tests.flows.test_staff_cards import _staff


def _open(nav) -> None:  # type: ignore[no-untyped-def]
    _staff(nav)
    nav.flow.open("staff_card_states")
    assert nav.route.name == "staff_card_states"


def test_a_tapped_lost_card_is_lifted_with_a_reason_and_audited(nav, fake):
    _open(nav)
    view = nav.flow.view()
    assert view.step == "find" and view.keypad and view.keypad_dash and not view.primary_enabled
    nav.flow.card_tapped("DEADBEEF")
    view = nav.flow.view()
    assert view.step == "card" and ("状态", "已挂失") in view.lines and ("房号", "2-1101") in view.lines
    options = {o.key: o for o in view.options}
    assert options["lift_loss"].enabled and not options["freeze"].enabled and not options["unfreeze"].enabled
    nav.flow.choose("lift_loss")
    assert nav.flow.view().step == "reason"
    nav.flow.choose("found")
    view = nav.flow.view()
    assert view.step == "confirm" and ("原因", "持卡人已找回卡片") in view.lines and ("办理事项", "解挂") in view.lines
    nav.flow.primary()
    view = nav.flow.view()
    assert view.step == "done" and ("状态", "正常使用") in view.lines
    assert fake.cards["DEADBEEF"].status is CardStatus.ACTIVE
    assert ("S1", "card.lift_loss:持卡人已找回卡片") in fake.audit
    nav.flow.primary()  # Done: the household's cards again, on the same card
    assert nav.flow.view().step == "card" and ("状态", "正常使用") in nav.flow.view().lines


def test_unit_number_lists_every_card_then_staff_freeze_and_unfreeze(nav, fake):
    _open(nav)
    for key in "3-0606":
        nav.flow.key(key)
    assert nav.flow.view().entry == "3-0606"
    nav.flow.primary()
    view = nav.flow.view()
    assert view.step == "cards" and [o.key for o in view.options] == ["C0FFEE01", "C0FFEE02", "C0FFEE03"]
    nav.flow.choose("C0FFEE02")
    nav.flow.choose("freeze")
    nav.flow.choose("misuse")
    nav.flow.primary()
    assert fake.cards["C0FFEE02"].status is CardStatus.FROZEN and fake.cards["C0FFEE02"].frozen_by_staff
    nav.flow.primary()
    view = nav.flow.view()
    assert ("状态", "已由工作人员冻结") in view.lines and {o.key for o in view.options if o.enabled} == {"unfreeze"}
    nav.flow.choose("unfreeze")
    nav.flow.choose("identity_checked")
    nav.flow.primary()
    assert fake.cards["C0FFEE02"].status is CardStatus.ACTIVE and not fake.cards["C0FFEE02"].frozen_by_staff


def test_a_replaced_card_says_it_can_never_be_unblocked(nav, fake):
    _open(nav)
    nav.flow.card_tapped("0BADCAFE")
    view = nav.flow.view()
    assert view.step == "card" and ("状态", "已补卡，原卡作废") in view.lines
    assert all(not o.enabled and o.reason == "此卡已补办新卡，永远不能解挂。" for o in view.options)


def test_unknown_unit_is_refused_in_words_and_back_returns_to_the_search(nav):
    _open(nav)
    for key in "9-9999":
        nav.flow.key(key)
    nav.flow.primary()
    view = nav.flow.view()
    assert view.step == "failed" and view.error.hint == "请核对房号，例如 1-0302。"
    nav.flow.back()
    assert nav.flow.view().step == "find"


def test_a_households_pin_lock_out_is_shown_and_staff_clear_it(nav, fake):
    household = fake.households["H5"]
    household.pin_failed, household.pin_locked_until = 5, fake.now() + timedelta(minutes=12)
    _open(nav)
    for key in "3-0606":
        nav.flow.key(key)
    nav.flow.primary()
    view = nav.flow.view()
    [pin_line] = [value for label, value in view.lines if label == "住户密码"]
    assert pin_line.startswith("锁定至") and "5" in pin_line
    assert view.options[-1].key == CLEAR_PIN and view.options[-1].label == "解除密码锁定"
    nav.flow.choose(CLEAR_PIN)
    view = nav.flow.view()
    assert view.step == "confirm" and ("办理事项", "解除密码锁定") in view.lines and view.primary == "确认"
    nav.flow.primary()
    view = nav.flow.view()
    assert view.step == "done" and ("住户密码", "未锁定，住户可以重新登录") in view.lines
    assert (household.pin_failed, household.pin_locked_until) == (0, None)
    assert ("S1", "household.lockout_cleared:3-0606") in fake.audit
    nav.flow.primary()  # Done: the household's cards again, nothing left to clear
    view = nav.flow.view()
    assert view.step == "cards" and CLEAR_PIN not in {o.key for o in view.options}
    assert not [label for label, _ in view.lines if label == "住户密码"]


def test_a_household_without_wrong_pins_offers_nothing_to_clear(nav, fake):
    _open(nav)
    for key in "3-0606":
        nav.flow.key(key)
    nav.flow.primary()
    nav.flow.choose(CLEAR_PIN)  # not offered: ignored
    assert nav.flow.view().step == "cards"
