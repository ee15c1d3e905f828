"""Voids with refund, asked again: a void is one transaction keyed by its receipt, so asking again with the same
reason (a timeout, two staff at once) gives the recorded void and takes nothing back twice; a void cut off by a
restart left nothing and is done once when asked again; a refused void is refused the same way again."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from kiosk.domain.terms import AccountKind, EntryKind, PaymentMethod
from kiosk.errors import InsufficientBalance, ReceiptAlreadyVoided
from kiosk.i18n import LANGUAGES
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import CardOperation, JournalEntry, Receipt
from kiosk.services import card_value, cards, ledger, payments, voids
from tests.services.helpers import cash


class KioskKilled(BaseException):
    """The kiosk dies inside the void's transaction (as SIGKILL: no code of the kiosk's runs on the way out)."""


def _void(factory, mini, number, reason="wrong bill", die: bool = False):
    with unit_of_work(factory) as s:
        result = voids.void_receipt(s, mini.till, number=number, reason=reason, actor="staff:王芳", language="en")
        if die:
            raise KioskKilled()
        return result


def _card_payment(factory, mini) -> str:
    hh = mini.household_ids[0]
    return payments.pay_bills(factory, mini.till, key="paid", household_id=hh, bill_ids=mini.bill_ids[hh][:2],
                              method=PaymentMethod.CARD, card_id=mini.card_ids[hh], language="en").receipt_number


def _books(factory) -> tuple[int, int, int]:
    with unit_of_work(factory) as s:
        return tuple(int(s.scalar(select(func.count()).select_from(m)) or 0)  # type: ignore[return-value]
                     for m in (JournalEntry, Receipt, CardOperation))


def _card(factory, mini) -> int:
    with unit_of_work(factory) as s:
        return cards.card_balance(s, mini.card_ids[mini.household_ids[0]])


def test_a_void_asked_again_gives_the_recorded_void_and_refunds_once(factory, mini):
    number = _card_payment(factory, mini)
    first = _void(factory, mini, number)
    before, value = _books(factory), _card(factory, mini)
    again = _void(factory, mini, number)
    assert again == replace(first, replayed=True)  # the void receipt, its reversing entries, the card's sync write
    assert (_books(factory), _card(factory, mini)) == (before, value) == (before, 50_000)
    with pytest.raises(ReceiptAlreadyVoided):  # not a retry: someone else voiding it for another reason
        _void(factory, mini, number, reason="duplicate")


def test_two_staff_voiding_at_once_get_one_void(factory, mini):
    number = _card_payment(factory, mini)
    barrier = threading.Barrier(3)

    def void(_n):
        barrier.wait()
        return _void(factory, mini, number)

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(void, range(3)))
    assert len({r.void_receipt_number for r in results}) == 1 and sum(not r.replayed for r in results) == 1
    assert _card(factory, mini) == 50_000
    with unit_of_work(factory) as s:
        assert s.scalar(select(func.count()).select_from(Receipt).where(Receipt.kind == "void")) == 1


def test_a_void_cut_off_by_a_restart_left_nothing_and_is_done_once_when_asked_again(factory, mini):
    number = _card_payment(factory, mini)
    before, value = _books(factory), _card(factory, mini)
    with pytest.raises(KioskKilled):
        _void(factory, mini, number, die=True)
    assert (_books(factory), _card(factory, mini)) == (before, value)
    done = _void(factory, mini, number)
    assert not done.replayed and _card(factory, mini) == 50_000
    assert _void(factory, mini, number) == replace(done, replayed=True)


def test_a_refused_void_is_refused_the_same_way_again(factory, mini):
    hh = mini.household_ids[0]
    with unit_of_work(factory) as s:
        uid = cards.get_card(s, mini.card_ids[hh]).uid_hex
    top = card_value.top_up(factory, mini.till, key="top", card_uid=uid, amount_fen=20_000, method=PaymentMethod.CASH,
                            language="en", move_money=cash(factory, mini.till, 20_000))
    with unit_of_work(factory) as s:  # the topped-up value is spent before anyone voids the top-up
        sv = ledger.account(s, AccountKind.STORED_VALUE, card_id=mini.card_ids[hh])
        ledger.spend_liability(s, EntryKind.BILL_PAYMENT, sv, ledger.account(s, AccountKind.REVENUE,
                                                                             fee_kind="service"), 60_000)
    before = _books(factory)
    errors = []
    for _ in range(2):
        with pytest.raises(InsufficientBalance) as info:
            _void(factory, mini, top.outcome.receipt_number)
        errors.append(info.value)
    assert errors[0].code == errors[1].code and errors[0].params == errors[1].params
    assert [errors[0].user_message(lang) for lang in LANGUAGES] == [errors[1].user_message(lang) for lang in LANGUAGES]
    assert _books(factory) == before
