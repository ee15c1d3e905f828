"""Honest retries: every money use case, asked again with the same idempotency key, answers what really happened.

| the first attempt | asked again |
|---|---|
| completed | the same result object (replayed), nothing moves again |
| still running | PaymentInProgress with the payment's reference; once it ends, its result |
| released by a restart | PaymentCancelledByRestart with the payment's reference |
| failed | the same error: code and message in every language |

(docs/reliability.md, "Honest retries"; voids in tests/services/test_void_retries.py.)
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from kiosk.domain.terms import AccountKind, BookingKind, PaymentMethod, PaymentStatus
from kiosk.errors import (CardTampered, CashAcceptorFault, CreditNotEnough, KioskError, PaymentCancelledByRestart,
                          PaymentExpired, PaymentInProgress)
from kiosk.i18n import LANGUAGES
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import JournalEntry, ParkingSpace, Payment, Receipt, utcnow
from kiosk.services import abandoned, bookings, card_replacement, card_value, cards, ledger, parking, payments
from kiosk.services.payments import PaymentOutcome
from tests.services.helpers import cash

Mover = Callable[[Any], None] | None
TODAY = date(2026, 11, 28)


class KioskKilled(BaseException):
    """The kiosk process dies here: not an Exception, so no code of the kiosk's runs on the way out (as SIGKILL)."""


def arrive(factory, till, how: str) -> Mover:
    """What the method brings between intent and settlement: a note of the amount due, or the gateway's payment."""
    if how == "card" or how == "credit":
        return None

    def move(payment) -> None:
        with unit_of_work(factory) as s:
            p = s.get(Payment, payment.id)
            due = payments.other_part(p)
            if how == "cash":
                payments.record_cash_in(s, till, p, counter=9_000 + p.id, value_fen=due)
            else:
                payments.record_gateway_paid(s, till, p, due, f"TXN-{p.id}")

    return move


def never(_payment) -> None:
    raise AssertionError("a retry moved money again")


def give_credit(factory, mini) -> None:
    """200.00 of account credit for the first household (100 + 200 in notes for its 100.00 bill)."""
    hh = mini.household_ids[0]
    payments.pay_bills(factory, mini.till, key="credit-setup", household_id=hh, bill_ids=mini.bill_ids[hh][:1],
                       method=PaymentMethod.CASH, language="en", move_money=cash(factory, mini.till, 10_000, 20_000))


def rent_a_space(factory, mini) -> None:
    with unit_of_work(factory) as s:
        s.add(ParkingSpace(site_id=mini.till.site_id, code="B1-001", zone="B1", state="rented",
                           holder_household_id=mini.household_ids[0], monthly_rent_fen=30_000,
                           paid_until=date(2026, 12, 31)))


def space_id(factory) -> int:
    with unit_of_work(factory) as s:
        return s.scalars(select(ParkingSpace.id).where(ParkingSpace.code == "B1-001")).one()


def uid(factory, mini) -> str:
    with unit_of_work(factory) as s:
        return cards.get_card(s, mini.card_ids[mini.household_ids[0]]).uid_hex


@dataclass(frozen=True)
class UseCase:
    name: str
    how: str  # card / credit / cash / qr: what `arrive` brings
    call: Callable[[Any, Any, str, Mover], Any]  # (factory, mini, key, move_money) -> result
    prepare: Callable[[Any, Any], None] = lambda factory, mini: None

    def fail(self, factory, mini) -> Callable[[Any], None]:
        """A mover that ends the payment the way this method really fails."""
        if self.how == "cash":
            def jam(payment) -> None:
                cash(factory, mini.till, 1_000)(payment)  # a note went in first: it stays as credit
                raise CashAcceptorFault("stacker jammed", reason="the stacker is jammed")
            return jam
        if self.how == "qr":
            def expired(payment) -> None:
                raise PaymentExpired("order expired and closed", reference=payment.reference)
            return expired
        if self.how == "credit":
            def spent_elsewhere(payment) -> None:  # the credit goes on another bill before this one settles
                hh = mini.household_ids[0]
                payments.pay_bills(factory, mini.till, key="elsewhere", household_id=hh,
                                   bill_ids=mini.bill_ids[hh][2:3], method=PaymentMethod.CREDIT, language="en")
            return spent_elsewhere

        def refused(_payment) -> None:
            raise CardTampered("the card's MAC failed")
        return refused


def _bills(method: PaymentMethod, credit_fen: int = 0):
    def call(factory, mini, key, move):
        hh = mini.household_ids[0]
        return payments.pay_bills(factory, mini.till, key=key, household_id=hh, bill_ids=mini.bill_ids[hh][1:2],
                                  method=method, language="en", move_money=move, credit_fen=credit_fen,
                                  card_id=mini.card_ids[hh] if method == PaymentMethod.CARD else None)
    return call


def _top_up(method: PaymentMethod):
    def call(factory, mini, key, move):
        return card_value.top_up(factory, mini.till, key=key, card_uid=uid(factory, mini), amount_fen=15_000,
                                 method=method, language="en", move_money=move)
    return call


def _replace(factory, mini, key, move):
    hh = mini.household_ids[0]
    return card_replacement.replace_card(factory, mini.till, key=key, household_id=hh, old_card_id=mini.card_ids[hh],
                                   new_uid="C1C2C3C4", method=PaymentMethod.CASH, fee_fen=2_000, language="en",
                                   move_money=move)


def _book(factory, mini, key, move):
    return bookings.book(factory, mini.till, key=key, household_id=mini.household_ids[0], kind=BookingKind.BROADBAND,
                         slot_date=TODAY + timedelta(days=5), period="am", method=PaymentMethod.QR, language="en",
                         fees={BookingKind.BROADBAND: 5_000}, capacity=2, today=TODAY, move_money=move)


def _rent(factory, mini, key, move):
    return parking.pay_rent(factory, mini.till, key=key, household_id=mini.household_ids[0],
                            space_id=space_id(factory), months=2, method=PaymentMethod.CASH, language="en",
                            today=TODAY, move_money=move)


CASES = [
    UseCase("bills by card balance", "card", _bills(PaymentMethod.CARD)),
    UseCase("bills by account credit", "credit", _bills(PaymentMethod.CREDIT), give_credit),
    UseCase("bills by banknotes", "cash", _bills(PaymentMethod.CASH)),
    UseCase("bills by QR", "qr", _bills(PaymentMethod.QR)),
    UseCase("bills split credit + banknotes", "cash", _bills(PaymentMethod.CASH, credit_fen=5_000), give_credit),
    UseCase("top-up by banknotes", "cash", _top_up(PaymentMethod.CASH)),
    UseCase("top-up by QR", "qr", _top_up(PaymentMethod.QR)),
    UseCase("top-up from account credit", "credit", _top_up(PaymentMethod.CREDIT), give_credit),
    UseCase("card replacement with balance transfer", "cash", _replace),
    UseCase("service booking", "qr", _book),
    UseCase("parking rent", "cash", _rent, rent_a_space),
]


@pytest.fixture(params=CASES, ids=[c.name for c in CASES])
def case(request) -> UseCase:
    return request.param


def replayed(result: Any) -> Any:
    """The first result as a retry returns it: identical, marked replayed."""
    if isinstance(result, PaymentOutcome):
        return replace(result, replayed=True)
    return replace(result, outcome=replace(result.outcome, replayed=True))


def outcome_of(result: Any) -> PaymentOutcome:
    return result if isinstance(result, PaymentOutcome) else result.outcome


def reference(factory, key: str) -> str:
    with unit_of_work(factory) as s:
        return s.scalars(select(Payment.reference).where(Payment.idempotency_key == key)).one()


def books(factory) -> tuple[int, int, int]:
    """(journal entries, receipts, payments): nothing may be added by a retry."""
    with unit_of_work(factory) as s:
        return tuple(int(s.scalar(select(func.count()).select_from(m)) or 0)  # type: ignore[return-value]
                     for m in (JournalEntry, Receipt, Payment))


def credit(factory, mini) -> int:
    with unit_of_work(factory) as s:
        return ledger.liability_balance(s, ledger.account(s, AccountKind.CREDIT,
                                                          household_id=mini.household_ids[0]))


def test_a_completed_payment_asked_again_gives_the_same_result_and_moves_nothing(factory, mini, case):
    case.prepare(factory, mini)
    first = case.call(factory, mini, "k", arrive(factory, mini.till, case.how))
    assert outcome_of(first).status is PaymentStatus.SUCCEEDED and outcome_of(first).receipt_number
    before = books(factory)
    again = case.call(factory, mini, "k", never)
    assert again == replayed(first)  # receipt number, document, balances: all as the first time
    assert books(factory) == before


def test_asked_again_while_the_first_attempt_runs_it_is_in_progress_then_its_result(factory, mini, case,
                                                                                      monkeypatch):
    monkeypatch.setattr(payments, "IN_PROGRESS_WAIT_S", 0.3)
    case.prepare(factory, mini)
    entered, go = threading.Event(), threading.Event()
    bring = arrive(factory, mini.till, case.how)

    def slow(payment) -> None:  # the first attempt waits for the resident's notes / scan / card
        entered.set()
        assert go.wait(20)
        if bring is not None:
            bring(payment)

    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(case.call, factory, mini, "k", slow)
        assert entered.wait(20)
        with pytest.raises(PaymentInProgress) as info:
            case.call(factory, mini, "k", never)
        assert info.value.params["reference"] == reference(factory, "k")
        assert reference(factory, "k") in info.value.user_message("zh_Hans")
        go.set()
        result = first.result(30)
    assert outcome_of(result).status is PaymentStatus.SUCCEEDED and not outcome_of(result).replayed
    assert case.call(factory, mini, "k", never) == replayed(result)


def test_a_payment_released_by_a_restart_asked_again_says_so_with_its_reference(factory, mini, case):
    case.prepare(factory, mini)
    bring = arrive(factory, mini.till, case.how)
    credit_before = credit(factory, mini)

    def dies(payment) -> None:
        if bring is not None:
            bring(payment)  # the money arrived (as credit), then the kiosk died
        raise KioskKilled()

    with pytest.raises(KioskKilled):
        case.call(factory, mini, "k", dies)
    ref = reference(factory, "k")
    # the restarted kiosk's start-up recovery
    assert abandoned.release_abandoned_intents(factory, mini.till,
                                               started_before=utcnow() + timedelta(seconds=1)) == [ref]
    before = books(factory)
    for _ in range(2):
        with pytest.raises(PaymentCancelledByRestart) as info:
            case.call(factory, mini, "k", never)
        assert info.value.code == "E7006" and info.value.params["reference"] == ref
        assert all(ref in info.value.user_message(lang) for lang in LANGUAGES)
    assert books(factory) == before
    with unit_of_work(factory) as s:
        payment = s.scalars(select(Payment).where(Payment.idempotency_key == "k")).one()
    assert payment.status == PaymentStatus.FAILED
    assert credit(factory, mini) == credit_before + payment.received_fen  # what arrived is the household's


def test_a_failed_payment_asked_again_fails_the_same_way(factory, mini, case):
    case.prepare(factory, mini)
    with pytest.raises(KioskError) as first:
        case.call(factory, mini, "k", case.fail(factory, mini))
    before = books(factory)
    with pytest.raises(KioskError) as again:
        case.call(factory, mini, "k", never)
    assert type(again.value) is type(first.value) and again.value.code == first.value.code
    assert again.value.params == {"reference": reference(factory, "k"), **first.value.params}
    assert [again.value.user_message(lang) for lang in LANGUAGES] == [first.value.user_message(lang)
                                                                        for lang in LANGUAGES]
    assert books(factory) == before


@pytest.mark.parametrize("credit_case", [c for c in CASES if c.how == "credit"], ids=lambda c: c.name)
def test_the_credit_cases_fail_for_want_of_credit(factory, mini, credit_case):
    """The account-credit cases above fail the real way: the credit is spent elsewhere before they settle, and
    the payment is failed (not left open for the restart to release)."""
    credit_case.prepare(factory, mini)
    with pytest.raises(CreditNotEnough):
        credit_case.call(factory, mini, "k", credit_case.fail(factory, mini))
    with unit_of_work(factory) as s:
        assert s.scalars(select(Payment.status).where(Payment.idempotency_key == "k")).one() == PaymentStatus.FAILED
