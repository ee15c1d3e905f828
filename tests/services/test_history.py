"""My records from the ledger and the receipts (both databases): what was paid, each card movement with the card's
balance after it, replacement transfers, voids, paging, and another household's records refused."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from kiosk.domain.terms import PaymentMethod
from kiosk.errors import NotFound
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Card
from kiosk.services import card_replacement, card_value, history, payments, voids
from tests.services.helpers import cash


def _page(factory, hh, offset=0, limit=8, language="zh_Hans"):
    with unit_of_work(factory) as s:
        return history.household_history(s, hh, language, offset=offset, limit=limit)


def _detail(factory, hh, record_id, language="zh_Hans"):
    with unit_of_work(factory) as s:
        return history.history_detail(s, hh, record_id, language)


def _uid(factory, card_id):
    with unit_of_work(factory) as s:
        return s.get(Card, card_id).uid_hex


def test_a_card_payment_row_says_what_was_paid_and_the_balance_after(factory, mini):
    hh, card = mini.household_ids[0], mini.card_ids[mini.household_ids[0]]
    out = payments.pay_bills(factory, mini.till, key="h1", household_id=hh, bill_ids=mini.bill_ids[hh][:2],
                             method=PaymentMethod.CARD, card_id=card, language="zh_Hans")
    page = _page(factory, hh, language="en")  # the rows speak the resident's language of today
    assert page.total == 2  # the payment, and the balance taken over from the previous system
    paid, opening = page.rows
    assert paid.record_id == f"R{out.receipt_number}" and paid.kind == "bill_payment" and paid.amount_fen == 21_234
    assert [(i.label, i.amount_fen, i.detail) for i in paid.items] == [
        ("Property management fee", 10_000, "2026-08"), ("Water", 11_234, "2026-09")]
    (move,) = paid.moves
    assert (move.change_fen, move.balance_after_fen, move.balance_before_fen) == (-21_234, 28_766, 50_000)
    assert move.card_no == f"C{hh:06d}" and move.card_kind == "resident"
    assert opening.kind == "card_opening" and opening.receipt_number == "" and opening.amount_fen == 50_000
    assert [(m.change_fen, m.balance_after_fen) for m in opening.moves] == [(50_000, 50_000)]


def test_a_cash_top_up_then_a_card_payment_keep_a_running_balance(factory, mini):
    hh, card = mini.household_ids[0], mini.card_ids[mini.household_ids[0]]
    card_value.top_up(factory, mini.till, key="h2", card_uid=_uid(factory, card), amount_fen=10_000,
                      method=PaymentMethod.CASH, language="zh_Hans", move_money=cash(factory, mini.till, 10_000),
                      write_card=lambda _w: None)
    payments.pay_bills(factory, mini.till, key="h3", household_id=hh, bill_ids=mini.bill_ids[hh][:1],
                       method=PaymentMethod.CARD, card_id=card, language="zh_Hans")
    paid, top_up, _opening = _page(factory, hh).rows
    assert top_up.kind == "top_up" and [(i.label, i.amount_fen) for i in top_up.items] == [("卡充值", 10_000)]
    assert [(m.change_fen, m.balance_after_fen) for m in top_up.moves] == [(10_000, 60_000)]
    assert [(m.change_fen, m.balance_after_fen) for m in paid.moves] == [(-10_000, 50_000)]


def test_a_cash_payment_has_no_card_movement(factory, mini):
    hh = mini.household_ids[1]
    payments.pay_bills(factory, mini.till, key="h4", household_id=hh, bill_ids=mini.bill_ids[hh][:1],
                       method=PaymentMethod.CASH, language="zh_Hans",
                       move_money=cash(factory, mini.till, 10_000))
    paid = _page(factory, hh).rows[0]
    assert paid.kind == "bill_payment" and paid.moves == () and paid.items[0].label == "物业管理费"


def test_a_replacement_shows_the_fee_and_the_transfer_onto_the_new_card(factory, mini):
    hh, card = mini.household_ids[0], mini.card_ids[mini.household_ids[0]]
    out = card_replacement.replace_card(factory, mini.till, key="h5", household_id=hh, old_card_id=card, new_uid="0D0E0F10",
                                  method=PaymentMethod.CARD, fee_fen=2_000, language="zh_Hans")
    row = _page(factory, hh).rows[0]
    assert row.kind == "card_replacement" and row.amount_fen == 2_000 and row.items[0].label == "补卡费"
    with unit_of_work(factory) as s:
        new_no = s.scalars(select(Card.card_no).where(Card.uid_hex == "0D0E0F10")).one()
    assert [(m.card_no, m.change_fen, m.balance_after_fen) for m in row.moves] == [
        (f"C{hh:06d}", -2_000, 48_000), (f"C{hh:06d}", -48_000, 0), (new_no, 48_000, 48_000)]
    detail = _detail(factory, hh, row.record_id)
    assert detail.title == "补卡收据" and detail.method == "卡内余额" and out.transferred_fen == 48_000
    assert ("余额已转入新卡", "480.00") in detail.fields


def test_a_voided_payment_and_its_void_each_show_their_card_movement(factory, mini):
    hh, card = mini.household_ids[0], mini.card_ids[mini.household_ids[0]]
    out = payments.pay_bills(factory, mini.till, key="h6", household_id=hh, bill_ids=mini.bill_ids[hh][:1],
                             method=PaymentMethod.CARD, card_id=card, language="zh_Hans")
    with unit_of_work(factory) as s:
        voids.void_receipt(s, mini.till, number=int(out.receipt_number), reason="wrong bill", actor="staff:王芳",
                           language="zh_Hans")
    void, paid, _opening = _page(factory, hh).rows
    assert paid.voided and [(m.change_fen, m.balance_after_fen) for m in paid.moves] == [(-10_000, 40_000)]
    assert void.kind == "void" and [(m.change_fen, m.balance_after_fen) for m in void.moves] == [(10_000, 50_000)]


def test_the_detail_has_every_line_of_the_receipt(factory, mini):
    hh, card = mini.household_ids[0], mini.card_ids[mini.household_ids[0]]
    out = payments.pay_bills(factory, mini.till, key="h7", household_id=hh, bill_ids=mini.bill_ids[hh],
                             method=PaymentMethod.CARD, card_id=card, language="zh_Hans")
    detail = _detail(factory, hh, f"R{out.receipt_number}")
    assert detail.title == out.document.title and detail.method == "卡内余额"
    assert len(detail.row.items) == 3 and detail.row.receipt_number == out.receipt_number
    assert dict(detail.fields)["参考号"] == out.reference and detail.reprint_count == 0
    assert detail.row.moves[0].balance_before_fen == 50_000
    english = _detail(factory, hh, f"R{out.receipt_number}", "en")  # printed in Chinese, read in English
    assert english.method == "Card balance" and english.row.items[0].label == "Property management fee"


def test_another_households_record_is_not_found(factory, mini):
    hh, other = mini.household_ids
    out = payments.pay_bills(factory, mini.till, key="h8", household_id=hh, bill_ids=mini.bill_ids[hh][:1],
                             method=PaymentMethod.CARD, card_id=mini.card_ids[hh], language="zh_Hans")
    with pytest.raises(NotFound):
        _detail(factory, other, f"R{out.receipt_number}")


def test_long_histories_page_newest_first_with_a_total(factory, mini):
    hh, card = mini.household_ids[0], mini.card_ids[mini.household_ids[0]]
    numbers = []
    for n in range(10):
        out = card_value.top_up(factory, mini.till, key=f"p{n}", card_uid=_uid(factory, card), amount_fen=1_000,
                                method=PaymentMethod.CASH, language="zh_Hans",
                                move_money=cash(factory, mini.till, 1_000), write_card=lambda _w: None)
        numbers.append(out.outcome.receipt_number)
    first, second = _page(factory, hh, 0, 8), _page(factory, hh, 8, 8)
    assert first.total == second.total == 11 and len(first.rows) == 8 and len(second.rows) == 3
    assert [r.receipt_number for r in first.rows + second.rows][:10] == numbers[::-1]
    assert second.rows[-1].kind == "card_opening"
    assert [r.moves[0].balance_after_fen for r in first.rows[:3]] == [60_000, 59_000, 58_000]
