"""Double-entry postings: every movement of value is one balanced journal entry; balances are sums."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.domain.terms import AccountKind, EntryKind, FeeKind
from kiosk.errors import InsufficientBalance, InvalidAmount
from kiosk.persistence.db import insert_ignoring_conflict
from kiosk.persistence.models import Account, JournalEntry, JournalLine


@dataclass(frozen=True)
class Posting:
    account: Account
    amount_fen: int  # debit positive, credit negative


def _code(kind: AccountKind, household_id: int | None, card_id: int | None, kiosk_id: int | None,
          fee_kind: str | None) -> str:
    if kind is AccountKind.RECEIVABLE or kind is AccountKind.CREDIT:
        return f"{kind}:household:{household_id}"
    if kind is AccountKind.STORED_VALUE:
        return f"{kind}:card:{card_id}"
    if kind is AccountKind.CASH_BOX or kind is AccountKind.SUSPENSE:
        return f"{kind}:kiosk:{kiosk_id}"
    if kind is AccountKind.REVENUE:
        return f"{kind}:{fee_kind}"
    return str(kind)


def account(session: Session, kind: AccountKind, *, household_id: int | None = None, card_id: int | None = None,
            kiosk_id: int | None = None, fee_kind: FeeKind | str | None = None) -> Account:
    """The account for (kind, owner), created on first use."""
    code = _code(kind, household_id, card_id, kiosk_id, str(fee_kind) if fee_kind else None)
    found = session.scalars(select(Account).where(Account.code == code)).one_or_none()
    if found is not None:
        return found
    # Two kiosks may create the same account at once: insert-if-absent, then read it back.
    insert_ignoring_conflict(session, Account, code=code, kind=str(kind), household_id=household_id,
                             card_id=card_id, kiosk_id=kiosk_id, fee_kind=str(fee_kind) if fee_kind else None)
    return session.scalars(select(Account).where(Account.code == code)).one()


def lock(session: Session, acct: Account) -> Account:
    """Lock the account row (PostgreSQL FOR UPDATE; SQLite already holds the write lock)."""
    return session.scalars(select(Account).where(Account.id == acct.id).with_for_update()).one()


def balance(session: Session, acct: Account) -> int:
    """Sum of the account's lines: positive for a debit balance."""
    total = session.scalar(select(func.coalesce(func.sum(JournalLine.amount_fen), 0))
                           .where(JournalLine.account_id == acct.id))
    return int(total or 0)


def liability_balance(session: Session, acct: Account) -> int:
    """What we owe on a liability account (stored value, credit), as a positive number."""
    return -balance(session, acct)


def post(session: Session, kind: EntryKind, postings: Sequence[Posting], *, memo: str = "",
         payment_id: int | None = None, kiosk_id: int | None = None,
         reverses_entry_id: int | None = None) -> JournalEntry:
    """Write one journal entry; refuses unless its lines are whole fen and sum to zero."""
    if len(postings) < 2:
        raise InvalidAmount("a journal entry needs at least two lines")
    for p in postings:
        if isinstance(p.amount_fen, bool) or not isinstance(p.amount_fen, int):
            raise InvalidAmount(f"ledger amounts are integer fen, got {p.amount_fen!r}")
        if p.amount_fen == 0:
            raise InvalidAmount("a ledger line cannot be zero")
    if sum(p.amount_fen for p in postings) != 0:
        raise InvalidAmount("journal entry does not balance")
    entry = JournalEntry(kind=str(kind), memo=memo[:200], payment_id=payment_id, kiosk_id=kiosk_id,
                         reverses_entry_id=reverses_entry_id)
    session.add(entry)
    session.flush()
    session.add_all([JournalLine(entry_id=entry.id, account_id=p.account.id, amount_fen=p.amount_fen)
                     for p in postings])
    session.flush()
    return entry


def transfer(session: Session, kind: EntryKind, debit: Account, credit: Account, amount_fen: int, **kw: object) -> JournalEntry:
    """The common two-line entry: `amount_fen` moves into `debit` out of `credit`."""
    if amount_fen <= 0:
        raise InvalidAmount(f"transfer amount must be positive, got {amount_fen}")
    return post(session, kind, [Posting(debit, amount_fen), Posting(credit, -amount_fen)], **kw)  # type: ignore[arg-type]


def spend_liability(session: Session, kind: EntryKind, liability: Account, to: Account, amount_fen: int,
                    **kw: object) -> JournalEntry:
    """Take value out of a stored-value or credit account; it never goes below zero."""
    locked = lock(session, liability)
    available = liability_balance(session, locked)
    if amount_fen > available:
        raise InsufficientBalance(f"needs {amount_fen}, has {available}", available_fen=available)
    # Debit the liability (reduces what we owe), credit the destination.
    return post(session, kind, [Posting(locked, amount_fen), Posting(to, -amount_fen)], **kw)  # type: ignore[arg-type]


def reverse(session: Session, entry: JournalEntry, *, memo: str, kiosk_id: int | None = None) -> JournalEntry:
    """A void: a new entry with every line negated; the original stays untouched."""
    lines = session.scalars(select(JournalLine).where(JournalLine.entry_id == entry.id)).all()
    accounts = {a.id: a for a in session.scalars(select(Account).where(Account.id.in_([l.account_id for l in lines])))}
    return post(session, EntryKind.VOID, [Posting(accounts[l.account_id], -l.amount_fen) for l in lines],
                memo=memo, payment_id=entry.payment_id, kiosk_id=kiosk_id, reverses_entry_id=entry.id)


def unbalanced_entries(session: Session) -> list[int]:
    """Ids of entries whose lines do not sum to zero (the invariant check; should be empty)."""
    rows = session.execute(select(JournalLine.entry_id).group_by(JournalLine.entry_id)
                           .having(func.sum(JournalLine.amount_fen) != 0)).all()
    return [r[0] for r in rows]
