"""Notices on the flow: residents see category, posting time and expiry (list and attract rotation); staff open a
notice, pin or unpin it at once, and withdraw it only after a confirm; every change is audited (Kivy-free)."""
from __future__ import annotations

from kiosk import errors


def _staff(nav) -> None:
    nav.go("staff_unlock")
    for d in "2468":
        nav.flow.key(d)
    nav.flow.submit()
    assert nav.route.name == "staff_home"


def _resident_keys(nav) -> list[str]:
    nav.go("notices")
    return [r.key for r in nav.flow.view().rows]


def test_residents_see_category_posting_time_and_expiry(nav):
    nav.go("notices")
    row = next(r for r in nav.flow.view().rows if r.key == "N2")
    meta = row.detail.splitlines()[0]
    assert meta == "收费通知 · 发布于 2026年10月31日 10:30 · 有效期至 2026年11月22日 10:30"


def test_the_attract_rotation_shows_category_and_expiry(nav):
    card = nav.flow.view().notice
    assert card.title == "[置顶] 停水通知"
    assert card.posted == "维修养护 · 发布于 2026年11月1日 10:30 · 有效期至 2026年11月5日 10:30"


def test_staff_list_shows_state_category_and_times(nav):
    _staff(nav)
    nav.go("staff_notices")
    labels = {o.key: o.label for o in nav.flow.view().options}
    assert labels["N1"].startswith("[置顶] 停水通知 · 展示中\n维修养护 · 发布于 ")
    assert labels["N4"].startswith("旧通知 · 已过期\n")


def test_withdraw_needs_a_confirm_and_then_residents_no_longer_see_it(nav, fake):
    _staff(nav)
    nav.go("staff_notices")
    flow = nav.flow
    flow.choose("N2")
    view = flow.view()
    assert view.step == "notice" and dict(view.lines)["类别"] == "收费通知" and dict(view.lines)["状态"] == "展示中"
    flow.choose("withdraw")
    assert flow.view().step == "withdraw_confirm" and "住户将不再看到" in flow.view().prompt
    flow.back()  # changed their mind
    assert flow.view().step == "notice" and fake.notices[1].withdrawn_at is None
    flow.choose("withdraw")
    flow.primary()
    view = flow.view()
    assert view.step == "list" and view.message == "通知已撤下，住户将不再看到。"
    assert ("S1", "withdraw notice N2") in fake.audit
    assert view.options[1].label.startswith("物业费缴纳提醒 · 已撤下")
    flow.choose("N2")
    assert [o.enabled for o in flow.view().options] == [False, False]  # neither pin nor withdraw again
    flow.back()
    flow.back()
    assert "N2" not in _resident_keys(nav)


def test_pin_and_unpin_change_the_residents_order_at_once(nav, fake):
    assert _resident_keys(nav)[:2] == ["N1", "N2"]
    _staff(nav)
    nav.go("staff_notices")
    flow = nav.flow
    flow.choose("N1")
    flow.choose("unpin")
    view = flow.view()
    assert view.step == "notice" and view.message == "已取消置顶。" and dict(view.lines)["置顶"] == "否"
    flow.back()
    flow.choose("N2")
    flow.choose("pin")
    assert flow.view().message == "已置顶。" and [o.key for o in flow.view().options] == ["unpin", "withdraw"]
    assert ("S1", "unpin notice N1") in fake.audit and ("S1", "pin notice N2") in fake.audit
    assert _resident_keys(nav)[:2] == ["N2", "N1"]


def test_an_expired_notice_can_be_withdrawn_but_not_pinned(nav):
    _staff(nav)
    nav.go("staff_notices")
    nav.flow.choose("N4")
    pin, withdraw = nav.flow.view().options
    assert pin.key == "pin" and not pin.enabled and pin.reason == "已过期" and withdraw.enabled


def test_a_failed_withdraw_says_why(nav, fake):
    _staff(nav)
    nav.go("staff_notices")
    nav.flow.choose("N2")
    nav.flow.choose("withdraw")
    fake.fail("withdraw_notice", errors.AlreadyDone("N2"))
    nav.flow.primary()
    assert nav.flow.view().error.code == errors.AlreadyDone.code and nav.flow.view().message == ""
