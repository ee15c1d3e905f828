"""Account credit on screen: shown on the household page and every pay page, chosen alone or first with
another method (split tender), the confirm text restating both parts."""
from __future__ import annotations


def test_household_page_shows_credit_only_when_there_is_some(signed_in, fake):
    view = signed_in.flow.view()
    assert view.credit == "" and view.credit_note == ""
    fake.households["H1"].credit_fen = 3550
    signed_in.go("household")
    view = signed_in.flow.view()
    assert view.credit == "¥35.50"
    assert view.credit_note == "账户余额可用于缴费，也可充值到卡上。"
