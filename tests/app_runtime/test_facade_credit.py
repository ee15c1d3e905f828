"""The real KioskServices with account credit: the summary shows it, it pays alone or with the card for the
rest, and the staff settlement and handover count it (devices not attached; both backends)."""
from __future__ import annotations

import pytest

from kiosk.domain.terms import PaymentMethod as CoreMethod
from kiosk.errors import CreditNotEnough
from kiosk.flows import records as r
from kiosk.persistence.db import unit_of_work
from kiosk.services import ledger, payments
from tests.app_runtime.test_facade import _resident_card
from tests.services.helpers import cash


def _overpay(rt, hh: str) -> tuple[r.BillView, ...]:
    """The first bill paid with its amount plus 300.00 in notes: 300.00 of credit (as at the validator)."""
    bills = rt.services.household_summary(hh).bills
    payments.pay_bills(rt.db.factory, rt.till, key="over", household_id=int(hh), bill_ids=[int(bills[0].bill_id)],
                       method=CoreMethod.CASH, language="en",
                       move_money=cash(rt.db.factory, rt.till, bills[0].amount_fen, 30_000))
    return bills[1:]


def test_summary_shows_credit_and_credit_pays_alone_then_with_the_card(rt, factory):
    uid, hh = _resident_card(factory)
    assert rt.services.household_summary(hh).credit_fen == 0
    rest = _overpay(rt, hh)
    summary = rt.services.household_summary(hh)
    assert summary.credit_fen == 30_000
    small = next(b for b in rest if b.amount_fen <= 30_000)
    alone = rt.services.pay_bills(hh, (small.bill_id,), r.PaymentMethod.CREDIT, "alone", "en")
    assert alone.credit_used_fen == small.amount_fen and alone.amount_fen == small.amount_fen
    left = 30_000 - small.amount_fen
    others = tuple(b for b in rest if b.bill_id != small.bill_id and b.amount_fen > left)
    card_before = summary.card(uid).balance_fen
    if not others or card_before < others[0].amount_fen - left:
        pytest.skip("demo household without a bill for the split")
    big = others[0]
    with pytest.raises(CreditNotEnough):
        rt.services.pay_bills(hh, (big.bill_id,), r.PaymentMethod.CREDIT, "too-much", "en")
    split = rt.services.pay_bills(hh, (big.bill_id,), r.PaymentMethod.CARD_BALANCE, "split", "en", card_uid=uid,
                                  credit_fen=left)
    assert split.credit_used_fen == left and split.balance_after_fen == card_before - (big.amount_fen - left)
    assert rt.services.household_summary(hh).credit_fen == 0
    who = rt.services.staff_sign_in("246810")
    view = rt.services.settlement(who.staff_id, rt.local_today())
    assert dict(view.credit_used) == {"credit": small.amount_fen, "card": left}
    assert dict(view.credit_created)["cash"] == 30_000
    assert dict(view.totals_by_method)["credit"] == 30_000
    handover = rt.services.shift_handover(who.staff_id, 0)
    assert (handover.credit_created_fen, handover.credit_used_fen) == (30_000, 30_000)
    with unit_of_work(factory) as s:
        assert ledger.unbalanced_entries(s) == []


def test_credit_moves_onto_the_card(rt, factory):
    uid, hh = _resident_card(factory)
    _overpay(rt, hh)
    before = rt.services.household_summary(hh).card(uid).balance_fen
    out = rt.services.top_up(uid, 30_000, r.PaymentMethod.CREDIT, "move", "zh_Hans")
    assert (out.balance_before_fen, out.balance_after_fen) == (before, before + 30_000)
    summary = rt.services.household_summary(hh)
    assert summary.credit_fen == 0 and summary.card(uid).balance_fen == before + 30_000
