"""The settlement's locks: the payment row locked, with its items and, on PostgreSQL, the account it spends (and a
replacement's old card between the two) in the same statement, in the order every settlement locks.

docs/fleet.md, "The intent rides; the settlement locks the payment and the account in one statement" and "A card
replacement: the old card's value locked with its payment".
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, bindparam, event, func, select, true
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import CTE

from kiosk.domain.terms import AccountKind, PaymentStatus
from kiosk.errors import NotFound
from kiosk.persistence.db import is_postgres
from kiosk.persistence.models import Account, Bill, Card, Household, Payment, PaymentItem
from kiosk.services import ledger


_INFO_ITEMS = "kiosk.payments.locked_items"  # payment id -> its items read with its lock (locked_items)
_INFO_CARD = "kiosk.payments.locked_card"  # card id -> (card, household, cards in it) locked with the payment
ItemRow = tuple[PaymentItem | None, str | None, str | None]  # an item (None: none), its bill's period, the unit


def lock_payment(session: Session, payment_id: int, *, with_items: bool = False,
                 spends: Account | None = None, card_id: int | None = None) -> Payment:
    """The payment row, locked for the rest of the transaction (PostgreSQL; SQLite holds the write lock), read
    afresh: of two settlements of one payment the second sees what the first did.

    `with_items`: its items (with their bill's period and the household's unit) come in the same query, for the
    settlement (`locked_items`): joined to the payment row, only the payment row locked (FOR UPDATE OF payments,
    as before); the items, their bills' periods and the unit are written before the intent commits and never
    change, so reading them with the lock reads what a query after it would.

    `spends` (with `with_items`, PostgreSQL): the account the settlement spends first (split_tender.first_spend),
    locked and summed in the same statement, after the payment (`_and_account_locked`). `card_id` (with `spends`):
    a card the settlement locks between the two (a card replacement's old card, FOR NO KEY UPDATE), read with its
    household and the household's count of cards (`locked_card`): every settlement that locks a card locks it
    after its payment and before any account."""
    if with_items and spends is not None and is_postgres(session):
        return _and_account_locked(session, payment_id, spends, card_id)
    if not with_items:
        payment = session.scalars(select(Payment).where(Payment.id == payment_id).with_for_update()
                                  .execution_options(populate_existing=True)).one_or_none()
        if payment is None:
            raise NotFound(f"payment {payment_id}")
        return payment
    unit_no = select(Household.unit_no).where(Household.id == Payment.household_id).scalar_subquery()
    rows = session.execute(select(Payment, PaymentItem, Bill.period, unit_no)
                           .outerjoin(PaymentItem, PaymentItem.payment_id == Payment.id)
                           .outerjoin(Bill, Bill.id == PaymentItem.bill_id)
                           .where(Payment.id == payment_id).order_by(PaymentItem.id)
                           .with_for_update(of=Payment.__table__)
                           .execution_options(populate_existing=True)).all()
    return _with_items_kept(session, payment_id, rows)


def _and_account_locked(session: Session, payment_id: int, spends: Account, card_id: int | None) -> Payment:
    """lock_payment(with_items=True) that also locks `spends` and reads its balance (ledger.locked_balance_row), in
    one statement and in the order every settlement locks: the payment first (a MATERIALIZED CTE with FOR UPDATE,
    its row as locked, i.e. as the last writer committed it), then the card if any, then the account, through the
    function's argument taken from the row locked before it, so it cannot run before that row is locked; only for
    an intent (a payment settled meanwhile spends nothing). With a card, its stored value last (what a replacement
    moves), handed over the same way unless it is `spends` itself. docs/fleet.md, "The intent rides; the settlement
    locks the payment and the account in one statement" and "A card replacement: the old card's value locked with
    its payment"."""
    rows = session.execute(_locked_with_account(card_id is not None),
                           {"payment_id": payment_id, "spends": spends.id, "card_id": card_id},
                           execution_options={"populate_existing": True}).all()
    if rows and rows[0][4] is not None:
        ledger.read_under_lock(session, spends.id, rows[0][4], rows[0][5])
    if card_id is not None and rows and rows[0][6] is not None:
        session.info.setdefault(_INFO_CARD, {})[card_id] = (rows[0][6], rows[0][7], int(rows[0][8] or 0))
        value_account = rows[0][9]
        if value_account is not None and value_account != spends.id:  # spent from, it is read again after the spend
            ledger.read_under_lock(session, value_account, rows[0][10], rows[0][11])
    return _with_items_kept(session, payment_id, rows)


def locked_card(session: Session, card_id: int) -> tuple[Card, Household | None, int] | None:
    """The card lock_payment(card_id=...) locked in this transaction, with its household and the household's count
    of cards; None if it did not (the caller locks and reads it)."""
    return session.info.get(_INFO_CARD, {}).pop(card_id, None)


def _with_items_kept(session: Session, payment_id: int, rows: Sequence[Any]) -> Payment:
    """The locked payment of rows (payment, item, period, unit, ...), its items kept for `locked_items`."""
    if not rows:
        raise NotFound(f"payment {payment_id}")
    items = [(item, period, unit) for _payment, item, period, unit, *_ in rows if item is not None]
    session.info.setdefault(_INFO_ITEMS, {})[payment_id] = items or [(None, None, rows[0][3])]
    return rows[0][0]


@functools.cache
def _locked_with_account(with_card: bool) -> Any:
    """`_and_account_locked`'s statement, built once each way (its CTEs, alias and columns cost a few ms of CPU to
    build). `with_card`: the card `card_id` is locked after the payment, through the payment row's column, and the
    account after the card, through the card row's."""
    locked = (select(Payment.__table__, bindparam("spends", type_=BigInteger).label("spends"),
                     bindparam("card_id", type_=BigInteger).label("lock_card"))
              .where(Payment.id == bindparam("payment_id", type_=BigInteger)).with_for_update()
              .cte("locked_payment").prefix_with("MATERIALIZED"))
    before_account = locked
    if with_card:
        before_account = card_locked_after(locked.c.lock_card)
    balance = ledger.locked_balance_row(before_account.c.spends)
    spent = (select(balance.c.high, balance.c.low, before_account.c.id.label("row_id"))
             .select_from(before_account).join(balance, true())
             .where(select(locked.c.status).scalar_subquery() == str(PaymentStatus.INTENT))
             .cte("spent").prefix_with("MATERIALIZED"))
    payment = aliased(Payment, locked)
    unit_no = select(Household.unit_no).where(Household.id == payment.household_id).scalar_subquery()
    statement = (select(payment, PaymentItem, Bill.period, unit_no, spent.c.high, spent.c.low)
                 .select_from(locked).outerjoin(spent, true())
                 .outerjoin(PaymentItem, PaymentItem.payment_id == payment.id)
                 .outerjoin(Bill, Bill.id == PaymentItem.bill_id).order_by(PaymentItem.id))
    if not with_card:
        return statement
    card, household = aliased(Card, before_account), aliased(Household)
    cards_now = (select(func.count()).select_from(Card).where(Card.household_id == before_account.c.household_id)
                 .scalar_subquery())
    # the card's stored value, locked and summed after the account spent first (through a row of `spent`, so not
    # before it), when the card has one: what a replacement moves to the new card
    value = ledger.locked_balance_row(Account.id)
    card_value = (select(Account.id.label("account_id"), value.c.high, value.c.low).select_from(spent)
                  .join(Account, Account.code == ledger.code_of(AccountKind.STORED_VALUE, spent.c.row_id))
                  .join(value, true()).cte("card_value").prefix_with("MATERIALIZED"))
    return (statement.add_columns(card, household, cards_now, card_value.c.account_id, card_value.c.high,
                                  card_value.c.low)
            .outerjoin(before_account, true()).outerjoin(household, household.id == before_account.c.household_id)
            .outerjoin(card_value, true()))


def card_locked_after(card_id: ColumnElement[Any]) -> CTE:
    """The card whose id is `card_id`, a column of the payment's locked CTE, locked FOR NO KEY UPDATE after the
    payment (found through the locked row: an InitPlan, run before the card is scanned), with the `spends` parameter
    carried as a column so that an account's balance function runs once per locked card row, after it is locked.
    Every settlement that locks a card locks it this way: a card replacement here, a top-up in
    kiosk.services.top_up_locks."""
    return (select(Card.__table__, bindparam("spends", type_=BigInteger).label("spends"))
            .where(Card.id == select(card_id).scalar_subquery())
            .with_for_update(of=Card.__table__, key_share=True).cte("locked_card").prefix_with("MATERIALIZED"))


def locked_items(session: Session, payment: Payment) -> list[ItemRow] | None:
    """The payment's items read with its lock in this transaction (lock_payment(with_items=True)), each with its
    bill's period and the household's unit (a payment without items: one row (None, None, unit)); None if they
    were not read with it (the caller queries them)."""
    return session.info.get(_INFO_ITEMS, {}).get(payment.id)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _forget_items(session: Session, *_args: object) -> None:
    session.info.pop(_INFO_ITEMS, None)
    session.info.pop(_INFO_CARD, None)
