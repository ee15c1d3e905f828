"""Staff tools: shift handover with cash count, callbacks list; staff-only routes (notices: test_staff_notices.py)."""
from __future__ import annotations


def _staff(nav) -> None:
    nav.go("staff_unlock")
    for d in "2468":
        nav.flow.key(d)
    nav.flow.submit()
    assert nav.route.name == "staff_home"


def test_handover_compares_counted_cash_with_the_records(signed_in, fake):
    signed_in.go("top_up")
    signed_in.flow.choose("10000")
    signed_in.flow.choose("cash")
    signed_in.flow.primary()
    _staff(signed_in)
    signed_in.flow.open("staff_handover")
    flow = signed_in.flow
    for d in "090":  # a leading zero is ignored
        flow.key(d)
    assert flow.view().entry == "¥90.00" and flow.view().lines == ()  # the entry field says it while counting
    flow.primary()
    assert dict(flow.view().lines)["实点现金"] == "¥90.00"  # restated on the confirm step
    flow.primary()
    lines = dict(flow.view().lines)
    assert lines["应有现金"] == "¥100.00" and lines["实点现金"] == "¥90.00" and lines["差额"] == "-¥10.00"
    assert "实点现金与记录不符。" in lines[""] and fake.cash_box_fen == 0


def test_callback_marked_done_leaves_the_open_list(nav, fake):
    fake.request_callback("13800138000", "Repairs", "zh_Hans")
    _staff(nav)
    nav.go("staff_callbacks")
    (option,) = nav.flow.view().options
    assert option.label == "报修 · 138****8000" and option.icon == "phone-in-talk"
    assert option.detail.endswith(" · 标记已处理")
    nav.flow.choose(option.key)
    assert nav.flow.view().options == () and ("S1", f"callback done {option.key}") in fake.audit


def test_staff_tools_need_a_staff_sign_in(signed_in):
    signed_in.go("staff_handover")
    assert signed_in.route.name == "staff_unlock"
