"""My records on the flow: rows say what was paid and the card's balance after; a row opens every line; a copy
is printed only after a confirm; long histories page (Kivy-free, on the in-memory services)."""
from __future__ import annotations

from dataclasses import replace

from kiosk import errors
from kiosk.flows.my_records import PAGE_SIZE
from kiosk.flows.records import DeviceState


def _top_up(nav, amount: str = "5000") -> None:
    nav.go("top_up")
    nav.flow.choose(amount)
    nav.flow.choose("qr")
    nav.flow.primary()
    assert nav.flow.view().step == "done"


def test_a_top_up_row_shows_the_card_and_its_balance_after(signed_in, fake):
    _top_up(signed_in)
    signed_in.go("records")
    (row,) = signed_in.flow.view().options
    assert row.label == "卡充值" and row.value == "¥50.00" and row.icon == "cash-multiple"
    when, *rest = row.detail.split("\n")
    assert when == "2026年11月2日 10:30 · 收据 00000001" and "卡充值" not in row.detail  # said once, on the label
    assert rest[-1] == "住户卡 ···C3D4 +¥50.00，余额 ¥250.00"
    assert signed_in.flow.row_label(signed_in.flow.page.entries[0]).startswith("卡充值  ¥50.00\n2026年11月2日")


def test_a_voided_record_says_so_on_its_row(signed_in, fake):
    _top_up(signed_in)
    signed_in.go("records")
    flow = signed_in.flow
    flow.page = flow.page.__class__((replace(flow.page.entries[0], voided=True),), 0, PAGE_SIZE, 1)
    assert flow.view().options[0].label == "卡充值 (已作废)"


def test_a_row_opens_every_line_and_the_card_before_and_after(signed_in, fake):
    _top_up(signed_in)
    signed_in.go("records")
    flow = signed_in.flow
    flow.choose(flow.view().options[0].key)
    view = flow.view()
    lines = dict(view.lines)
    assert view.step == "detail" and lines["收据号"] == "00000001" and lines["合计"] == "¥50.00"
    assert lines["卡片"] == "住户卡 ···C3D4" and lines["卡上金额变动"] == "+¥50.00"
    assert lines["变动前余额"] == "¥200.00" and lines["变动后余额"] == "¥250.00" and lines["Reference"] == "REF-00000001"
    assert view.options == () and view.primary == "补打" and fake.printed == ["00000001"]  # the lines keep the page


def test_reprint_prints_only_after_the_confirm(signed_in, fake):
    _top_up(signed_in)
    signed_in.go("records")
    flow = signed_in.flow
    flow.choose(flow.view().options[0].key)
    flow.choose("reprint")
    assert flow.view().step == "reprint_confirm" and fake.printed == ["00000001"]
    flow.back()  # changed their mind: nothing printed, back on the detail
    assert flow.view().step == "detail" and fake.printed == ["00000001"]
    flow.choose("reprint")
    flow.primary()
    view = flow.view()
    assert fake.printed == ["00000001", "00000001"] and view.step == "detail" and "00000001" in view.message


def test_reprint_with_printer_down_says_why(signed_in, fake):
    _top_up(signed_in)
    fake.set_device("printer", DeviceState.DOWN, "out of paper")
    signed_in.go("records")
    flow = signed_in.flow
    flow.choose(flow.view().options[0].key)
    flow.choose("reprint")
    flow.primary()
    assert flow.view().error.code == errors.PrinterNotReady.code and fake.printed == ["00000001"]


def test_long_histories_page_with_previous_and_next(signed_in, fake):
    for _ in range(PAGE_SIZE + 2):
        _top_up(signed_in)
    signed_in.go("records")
    flow = signed_in.flow
    keys = [o.key for o in flow.view().options]
    assert len(keys) == PAGE_SIZE + 2 and keys[-2:] == ["previous", "next"]
    assert [o.icon for o in flow.view().options[-2:]] == ["chevron-left", "chevron-right"]
    assert not flow.view().options[-2].enabled and "第 1 页，共 2 页" in flow.view().prompt
    assert keys[0] == "R00000010"  # newest first
    flow.choose("next")
    view = flow.view()
    assert [o.key for o in view.options] == ["R00000002", "R00000001", "previous", "next"]
    assert not view.options[-1].enabled and fake.calls.count("my_records") == 2
    flow.choose(view.options[0].key)
    flow.back()  # back from a detail keeps the page
    assert [o.key for o in flow.view().options][:2] == ["R00000002", "R00000001"]
    flow.choose("previous")
    assert flow.view().options[0].key == "R00000010"
    flow.back()
    assert signed_in.route.name == "household"


def test_no_records_says_so(signed_in):
    signed_in.go("records")
    assert signed_in.flow.view().options == () and signed_in.flow.view().prompt == "暂无记录。"


def test_after_the_copy_prints_done_goes_home_in_one_tap(signed_in, fake):
    _top_up(signed_in)
    signed_in.go("household")
    signed_in.go("records")  # the last receipt in four taps and home in one: records, row, reprint, print, done
    flow = signed_in.flow
    assert flow.view().primary == ""
    flow.choose(flow.view().options[0].key)
    assert flow.view().primary == "补打"  # nothing printed yet: Reprint (Back to the list), no Done
    flow.primary()
    assert flow.view().step == "reprint_confirm" and fake.printed == ["00000001"]  # asks first
    flow.primary()
    view = flow.view()
    assert view.primary == "完成" and fake.printed == ["00000001", "00000001"]
    assert [(o.key, o.label) for o in view.options] == [("reprint", "再补打一份")]
    flow.primary()
    assert signed_in.route.name == "household"
