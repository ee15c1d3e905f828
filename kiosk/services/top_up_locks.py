"""What a top-up reads under its locks (kiosk.services.card_value), in one statement on PostgreSQL where it took two
or three round trips:

- the preparation locks the payment and reads the card, the household's credit and the card's stored value (the
  pending card write is worked out from them);
- the settlement locks the payment, then the card, then the account it spends, in that order (the order every
  settlement and card replacement locks in), and reads the card's household, its pending write, its stored value
  before and that account's balance.

SQLite (one kiosk, its unit of work holding the database's write lock) reads them as before: the payment, then one
query. docs/fleet.md, "A top-up's preparation and settlement in one statement each"."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, bindparam, select, true
from sqlalchemy.orm import Session, aliased

from kiosk.domain.terms import AccountKind, PaymentStatus
from kiosk.errors import NotFound
from kiosk.persistence.db import is_postgres
from kiosk.persistence.models import Account, Card, CardOperation, Household, Payment
from kiosk.persistence import id_reservoir
from kiosk.persistence.sums import HALF, joined
from kiosk.services import ledger, payments
from kiosk.services.cards import CardWrite, last_done_counter, last_done_unsettled, pending_write_exists
from kiosk.services.payment_locks import card_locked_after

_FRESH = {"populate_existing": True}  # the rows as locked, not as this session last saw them


@dataclass(frozen=True)
class Preparing:
    payment: Payment
    card: Card | None  # None: the card is gone
    credit_fen: int  # the household's credit, read without its lock (a check; the settlement spends under it)
    stored_fen: int  # the card's stored value, read without a lock (the card write's old value)
    last_counter: int | None  # the counter of the card's last done write (None: none yet)
    unit_no: str  # the card's household's unit (the card's record, checked at the write's tap)
    anything_open: bool  # a pending write of the card, or a last done spend whose payment never settled
    # the household's credit account and the card's stored-value account (PostgreSQL; None: not there yet, or SQLite)
    accounts: tuple[Account | None, Account | None] = (None, None)


@dataclass(frozen=True)
class Settling:
    payment: Payment
    card: Card | None  # None: the card is gone
    unit_no: str | None  # the card's household's unit (None: no such household)
    operation: CardOperation | None  # the pending card write the settlement marks done
    stored_before_fen: int  # the card's stored value before this top-up, read without a lock (for the receipt)


def for_preparing(session: Session, payment_id: int) -> Preparing:
    """The payment locked (FOR UPDATE), its card, the household's credit, the card's value and last done counter.
    On PostgreSQL the balances are read with the statement's snapshot, taken before it waited for the payment's lock:
    whoever holds that lock is settling or failing this same payment, never adding to the card or the credit, and
    both figures were read without a lock before as well (the settlement spends the credit under its lock)."""
    if is_postgres(session):
        row = session.execute(_preparing(), {"payment_id": payment_id}, execution_options=_FRESH).first()
        if row is None:
            raise NotFound(f"payment {payment_id}")
        payment, rest, accounts = row[0], tuple(row[1:-2]), tuple(row[-2:])
        for account in accounts:
            if account is not None:  # the settlement finds them without a statement (ledger.account)
                ledger.known_account(session, account)
    else:
        payment = payments.lock_payment(session, payment_id)
        credit = ledger.balance_row(ledger.account_code(AccountKind.CREDIT, household_id=payment.household_id))
        stored = ledger.balance_row(ledger.account_code(AccountKind.STORED_VALUE, card_id=payment.card_id))
        found = session.execute(select(Card, credit.c.high, credit.c.low, stored.c.high, stored.c.low,
                                       *_at_the_tap())
                                .select_from(Card.__table__.join(credit, true()).join(stored, true()))
                                .where(Card.id == payment.card_id)).first()
        rest = tuple(found) if found is not None else (None, 0, 0, 0, 0, None, "", False, None)
        accounts = (None, None)
    card, credit_high, credit_low, stored_high, stored_low, counter, unit_no, pending, unsettled = rest
    return Preparing(payment, card, -joined(credit_high, credit_low), -joined(stored_high, stored_low), counter,
                     unit_no or "", bool(pending or unsettled), accounts)


def _at_the_tap() -> tuple[Any, ...]:
    """The columns of the card (in the statement's FROM) that the card station's tap needs besides its value: the
    last done counter, the household's unit, and whether anything of the card is open (kiosk.cards.reconcile)."""
    unit = select(Household.unit_no).where(Household.id == Card.household_id).scalar_subquery()
    return (last_done_counter(Card.id), unit, pending_write_exists(Card.id), last_done_unsettled(Card.id))


def for_settling(session: Session, payment_id: int, operation_id: int, spends: Account | None) -> Settling:
    """The payment locked (FOR UPDATE), then its card (FOR NO KEY UPDATE: against a replacement at another kiosk,
    `card_replacement.card_and_household`), then `spends` (the account the settlement spends first,
    split_tender.first_spend; None: the settlement locks it itself), with the card's household, the pending write
    `operation_id` and the card's value before. On PostgreSQL in one statement: each lock is taken through a value of
    the row locked before it, so none can be taken first; `spends` is locked only while the payment is an intent,
    and its balance is summed after its lock (ledger.read_under_lock)."""
    if not is_postgres(session):
        payment = payments.lock_payment(session, payment_id)
        before = ledger.balance_row(ledger.account_code(AccountKind.STORED_VALUE, card_id=payment.card_id))
        found = session.execute(select(Card, Household, CardOperation, before.c.high, before.c.low)
                                .select_from(Card.__table__
                                             .outerjoin(Household.__table__, Household.id == Card.household_id)
                                             .outerjoin(CardOperation.__table__, CardOperation.id == operation_id)
                                             .join(before, true()))
                                .where(Card.id == payment.card_id)
                                .with_for_update(of=Card.__table__, key_share=True)).first()
        card, household, operation, high, low = found if found is not None else (None, None, None, 0, 0)
        return Settling(payment, card, _unit(household), operation, -joined(high, low))
    row = session.execute(_settling(), {"payment_id": payment_id, "operation_id": operation_id,
                                        "spends": spends.id if spends is not None else None},
                          execution_options=_FRESH).first()
    if row is None:
        raise NotFound(f"payment {payment_id}")
    payment, card, household, operation, high, low, spent_high, spent_low, stored = row
    if spends is not None and spent_high is not None:
        ledger.read_under_lock(session, spends.id, spent_high, spent_low)
    if stored is not None:  # the card's stored-value account, which the top-up credits: no statement of its own
        ledger.known_account(session, stored)
    return Settling(payment, card, _unit(household), operation, -joined(high or 0, low or 0))


def _unit(household: Household | None) -> str | None:
    return household.unit_no if household is not None else None


class PreparedChanged(Exception):
    """What a top-up's preparation read no longer holds where its settlement meant to take the locks (`as_prepared`):
    the settlement's transaction is rolled back, and it is settled again the usual way (`for_settling`)."""


def as_prepared(session: Session, prepared: Preparing, write: CardWrite,
                journal_ids: id_reservoir.IdsAhead) -> Settling:
    """The settlement's locks and reads as the preparation of this attempt left them, without a statement: on
    PostgreSQL, right after the card took the write. What `for_settling` reads is what the preparation read and wrote
    (the payment, the card, its unit, the pending write, the card's value before, the accounts); the locks it takes
    are checks that ride ahead of the settlement's writes, in the same order (the payment, the card, the account it
    spends), each also checking that its row is as the preparation left it:
    - the payment is still this intent, with the money the preparation saw;
    - the card still has the status and household it had;
    - the household's credit, locked and summed (`kiosk_locked_balance`), is still what the preparation read (a
      spend or arrival at another kiosk meanwhile: it is read again under the lock, the usual way);
    - the pending write is still pending.
    One that fails raises PreparedChanged on the server, before any write of the settlement runs. The settlement's
    journal entries take the ids the preparation's first message took ahead (`journal_ids`): with their ids, their
    INSERTs ride too, and the settlement is two round trips: its writes with the receipt's number, then the chain's
    links with the COMMIT."""
    payment, card = session.merge(prepared.payment, load=False), session.merge(prepared.card, load=False)
    credit, stored = prepared.accounts
    carrier = session.connection().connection.dbapi_connection
    if credit is None or stored is None or write.operation is None or card.household_id is None \
            or not hasattr(carrier, "keep_check"):
        raise PreparedChanged("nothing to settle as prepared with")
    # the accounts need no statement either: the preparation's commit left them known (ledger.account)
    values = {"payment": payment.id, "received": payment.received_fen, "card": card.id, "status": card.status,
              "household": card.household_id, "credit": credit.id, "balance": -prepared.credit_fen,
              "operation": write.operation_id}
    for check in _AS_PREPARED_CHECKS:
        carrier.keep_check(check, lambda: PreparedChanged("the top-up's rows changed since its preparation"), values)
    ledger.read_under_lock(session, credit.id, 0, -prepared.credit_fen)  # the check above makes it so
    id_reservoir.hand_over(session, journal_ids, "journal_entries")
    operation = session.merge(write.operation, load=False)
    return Settling(payment, card, prepared.unit_no, operation, write.old_value_fen)


# `as_prepared`'s checks, in the order every settlement locks: the payment, the card, the account it spends
_AS_PREPARED_CHECKS = (
    "EXISTS (SELECT 1 FROM payments WHERE id = %(payment)s AND status = 'intent' AND received_fen = %(received)s "
    "FOR UPDATE)",
    "EXISTS (SELECT 1 FROM cards WHERE id = %(card)s AND status = %(status)s AND household_id = %(household)s "
    "FOR NO KEY UPDATE)",
    f"(SELECT high * {HALF} + low FROM kiosk_locked_balance(%(credit)s)) = %(balance)s",
    "EXISTS (SELECT 1 FROM card_operations WHERE id = %(operation)s AND status = 'pending')")


@functools.cache
def _locked_payment() -> Any:
    """The payment row locked FOR UPDATE, as a MATERIALIZED CTE: scanned once, before anything that reads it."""
    return (select(Payment.__table__).where(Payment.id == bindparam("payment_id", type_=BigInteger))
            .with_for_update().cte("locked_payment").prefix_with("MATERIALIZED"))


@functools.cache
def _preparing() -> Any:
    """`for_preparing`'s statement on PostgreSQL, built once: with the two accounts' rows, which the settlement
    then needs no statement for."""
    locked = _locked_payment()
    credit_code = ledger.code_of(AccountKind.CREDIT, locked.c.household_id)
    stored_code = ledger.code_of(AccountKind.STORED_VALUE, locked.c.card_id)
    credit, stored = ledger.balance_row(credit_code), ledger.balance_row(stored_code)
    credit_account, stored_account = aliased(Account), aliased(Account)
    return (select(aliased(Payment, locked), Card, credit.c.high, credit.c.low, stored.c.high, stored.c.low,
                   *_at_the_tap(), credit_account, stored_account)
            .select_from(locked.outerjoin(Card.__table__, Card.id == locked.c.card_id)
                         .join(credit, true()).join(stored, true())
                         .outerjoin(credit_account, credit_account.code == credit_code)
                         .outerjoin(stored_account, stored_account.code == stored_code)))


@functools.cache
def _settling() -> Any:
    """`for_settling`'s statement on PostgreSQL, built once: the card locked after the payment, through its card_id
    (payment_locks.card_locked_after), then the account it spends."""
    locked = _locked_payment()
    card = card_locked_after(locked.c.card_id)
    balance = ledger.locked_balance_row(card.c.spends)
    spent = (select(balance.c.high, balance.c.low).select_from(card).join(balance, true())
             .where(card.c.spends.is_not(None),
                    select(locked.c.status).scalar_subquery() == str(PaymentStatus.INTENT))
             .cte("spent").prefix_with("MATERIALIZED"))
    before = ledger.balance_row(ledger.code_of(AccountKind.STORED_VALUE, card.c.id))
    stored = aliased(Account)
    return (select(aliased(Payment, locked), aliased(Card, card), Household, CardOperation, before.c.high,
                   before.c.low, spent.c.high, spent.c.low, stored)
            .select_from(locked.outerjoin(card, true())
                         .outerjoin(Household.__table__, Household.id == card.c.household_id)
                         .outerjoin(CardOperation.__table__,
                                    CardOperation.id == bindparam("operation_id", type_=BigInteger))
                         .outerjoin(before, true()).outerjoin(spent, true())
                         .outerjoin(stored, stored.code == ledger.code_of(AccountKind.STORED_VALUE, card.c.id))))
