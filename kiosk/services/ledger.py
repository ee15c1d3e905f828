"""Double-entry postings: every movement of value is one balanced journal entry; balances are sums."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import (BindParameter, ColumnElement, Connection, Engine, Lateral, String, Subquery, Table,
                        TableValuedAlias, cast, event, func, inspect, literal, select, text)
from sqlalchemy.orm import Session, make_transient_to_detached

from kiosk.domain.terms import AccountKind, EntryKind, FeeKind
from kiosk.errors import InsufficientBalance, InvalidAmount
from kiosk.persistence import chain
from kiosk.persistence.bulk import insert_rows
from kiosk.persistence.db import insert_ignoring_conflict, is_postgres
from kiosk.persistence.models import Account, JournalEntry, JournalLine, utcnow
from kiosk.persistence.sums import joined, split_sum


_INFO_ACCOUNTS = "kiosk.ledger.accounts"
_INFO_READ = "kiosk.ledger.accounts_read"  # accounts this transaction read or created: known for good once it commits
_INFO_LOCKED = "kiosk.ledger.locked_read"  # account id -> its balance, read under its lock by another statement
# Accounts known to be committed, per PostgreSQL engine (code -> the row's values): an account row never changes
# and is never deleted, so a kiosk reads each one from the database once, not once per transaction (a round trip
# each on a LAN). SQLite has no network: it reads them as before.
_committed: WeakKeyDictionary[Engine, dict[str, dict[str, Any]]] = WeakKeyDictionary()
COMMITTED_ACCOUNTS_KEPT = 20_000  # per engine; beyond that the cache starts again (a few MB at most)


@event.listens_for(Session, "after_soft_rollback")
def _forget_accounts(session: Session, _previous: object) -> None:
    """An account created by a transaction (or savepoint) that rolled back is gone: read them afresh."""
    session.info.pop(_INFO_ACCOUNTS, None)
    session.info.pop(_INFO_READ, None)
    session.info.pop(_INFO_LOCKED, None)


@event.listens_for(Session, "after_commit")
def _remember_committed_accounts(session: Session) -> None:
    session.info.pop(_INFO_LOCKED, None)
    read: dict[str, Account] | None = session.info.pop(_INFO_READ, None)
    engine = _postgres_engine(session) if read else None
    if engine is None or not read:
        return
    known = _committed.setdefault(engine, {})
    if len(known) + len(read) > COMMITTED_ACCOUNTS_KEPT:
        known.clear()
    for code, acct in read.items():
        known[code] = {name: getattr(acct, name) for name in _ACCOUNT_ATTRS}


_ACCOUNT_ATTRS = tuple(attr.key for attr in inspect(Account).column_attrs)


def _postgres_engine(session: Session) -> Engine | None:
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    return engine if engine.dialect.name == "postgresql" else None


@dataclass(frozen=True)
class Posting:
    account: Account
    amount_fen: int  # debit positive, credit negative


# the owner each owned account kind is named by in its code ("credit:household:12")
_OWNER = {AccountKind.RECEIVABLE: "household", AccountKind.CREDIT: "household", AccountKind.STORED_VALUE: "card",
          AccountKind.CASH_BOX: "kiosk", AccountKind.SUSPENSE: "kiosk"}


def _code(kind: AccountKind, household_id: int | None, card_id: int | None, kiosk_id: int | None,
          fee_kind: str | None) -> str:
    owner = _OWNER.get(kind)
    if owner is not None:
        owner_id = {"household": household_id, "card": card_id, "kiosk": kiosk_id}[owner]
        return f"{kind}:{owner}:{owner_id}"
    if kind is AccountKind.REVENUE:
        return f"{kind}:{fee_kind}"
    return str(kind)


def code_of(kind: AccountKind, owner_id: ColumnElement[int]) -> ColumnElement[str]:
    """`account_code` in SQL, for a statement that takes the owner (household, card, kiosk) from a row, e.g. the
    credit account created with the payment's read (kiosk.services.arrivals)."""
    return literal(f"{kind}:{_OWNER[kind]}:", String) + cast(owner_id, String)


def account(session: Session, kind: AccountKind, *, household_id: int | None = None, card_id: int | None = None,
            kiosk_id: int | None = None, fee_kind: FeeKind | str | None = None) -> Account:
    """The account for (kind, owner), created on first use. Read from the database once per transaction, and on
    PostgreSQL once per engine (an account row never changes: `_committed`)."""
    code = _code(kind, household_id, card_id, kiosk_id, str(fee_kind) if fee_kind else None)
    known = session.info.setdefault(_INFO_ACCOUNTS, {})  # an account never changes owner: read once per transaction
    found = known.get(code)
    if found is not None and found in session:
        return found
    engine = _postgres_engine(session)
    committed = _committed.get(engine, {}).get(code) if engine is not None else None
    if committed is not None:  # in the session as stored, no query (merge without load)
        stored = Account(**committed)
        make_transient_to_detached(stored)
        found = session.merge(stored, load=False)
        known[code] = found
        return found
    values = dict(code=code, kind=str(kind), household_id=household_id, card_id=card_id, kiosk_id=kiosk_id,
                  fee_kind=str(fee_kind) if fee_kind else None)
    found = _created_or_read(session, values) if engine is not None else None
    if found is None:
        found = session.scalars(select(Account).where(Account.code == code)).one_or_none()
    if found is None:
        # Two kiosks may create the same account at once: insert-if-absent, then read it back.
        insert_ignoring_conflict(session, Account, **values)
        found = session.scalars(select(Account).where(Account.code == code)).one()
    known_account(session, found)
    return found


def new_account(session: Session, kind: AccountKind, account_id: int | None, *, card_id: int) -> Account:
    """The account of a card created in this transaction (a replacement's new card), which nobody else can have made:
    added, not looked up. With `account_id` (taken ahead, kiosk.persistence.id_reservoir.ids_ahead) its INSERT needs
    no answer and rides with the next statement; without, `account` creates it as for any owner."""
    if account_id is None:
        return account(session, kind, card_id=card_id)
    acct = Account(id=account_id, code=_code(kind, None, card_id, None, None), kind=str(kind), household_id=None,
                   card_id=card_id, kiosk_id=None, fee_kind=None)
    session.add(acct)
    known_account(session, acct)
    return acct


def known_account(session: Session, acct: Account) -> None:
    """An account this transaction read (by `account`, or joined to a payment: kiosk.services.arrivals): `account`
    then finds it without a statement of its own, and on PostgreSQL keeps it once this commits."""
    session.info.setdefault(_INFO_ACCOUNTS, {})[acct.code] = acct
    if _postgres_engine(session) is not None:
        session.info.setdefault(_INFO_READ, {})[acct.code] = acct


def _created_or_read(session: Session, values: dict[str, object]) -> Account | None:
    """PostgreSQL: the account created if absent, or the one stored, in one statement (one round trip, where reading
    then creating then reading again took three). None when another transaction created it meanwhile and has just
    committed (this statement's snapshot is older than that row): the caller reads it again."""
    from sqlalchemy import union_all
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    table = Account.__table__
    created = pg_insert(table).values(**values).on_conflict_do_nothing().returning(*table.c).cte("created")
    stored = select(*table.c).where(table.c.code == values["code"])
    return session.scalars(select(Account).from_statement(union_all(select(*created.c), stored))).first()


def account_code(kind: AccountKind, *, household_id: int | None = None, card_id: int | None = None,
                 kiosk_id: int | None = None, fee_kind: FeeKind | str | None = None) -> str:
    """The code of the account for (kind, owner), as `account` finds it."""
    return _code(kind, household_id, card_id, kiosk_id, str(fee_kind) if fee_kind else None)


def balance_row(code: str | ColumnElement[str]) -> Subquery | Lateral:
    """One row (high, low) with the balance of the account with this code (0 while it has no lines or does not
    exist yet), for joining into another query (`ON true`) so that an early check reads it with that query's
    rows. Read without any lock: for a check before money moves, never for a spend (spend what `locked_balance` read).
    A code taken from another table's row (`code_of`) makes it LATERAL (PostgreSQL), joined after that table; a
    value (a string, or a bound parameter for a statement built once) a plain subquery, as SQLite has no LATERAL."""
    high, low = split_sum(JournalLine.amount_fen)
    lateral = isinstance(code, ColumnElement) and not isinstance(code, BindParameter)
    account_id = select(Account.id).where(Account.code == code)
    if lateral:  # the code's columns belong to a table of the enclosing statement
        account_id = account_id.correlate_except(Account)
    query = select(high.label("high"), low.label("low")).where(JournalLine.account_id == account_id.scalar_subquery())
    return query.lateral() if lateral else query.subquery()


def lock(session: Session, acct: Account) -> Account:
    """Lock the account row (PostgreSQL FOR NO KEY UPDATE; SQLite already holds the write lock). Not FOR UPDATE:
    that would also stop every other kiosk from writing a journal line to the account (its foreign key check takes
    a key-share lock), e.g. a banknote credited to the household while another kiosk spends its credit."""
    return session.scalars(select(Account).where(Account.id == acct.id).with_for_update(key_share=True)).one()


def lock_order(acct: Account) -> tuple[bool, int]:
    """The order in which one transaction locks several accounts: the household's credit first (a split payment
    spends it before the card's stored value, split_tender.post_parts), then by id. Two transactions that lock in
    this order never wait on each other's second lock."""
    return acct.kind != AccountKind.CREDIT, acct.id


def locked_balance(session: Session, acct: Account) -> int:
    """`lock` the account, then its `balance`: what a spender reads before spending. On PostgreSQL one round trip,
    the server-side function of migration 0016 (its sum is a statement of its own, so it sees what another spender
    committed while this one waited for the lock; docs/fleet.md "The lock and the balance in one round trip")."""
    if not is_postgres(session):
        return balance(session, lock(session, acct))
    read = session.info.get(_INFO_LOCKED, {}).pop(acct.id, None)
    if read is not None:  # locked and summed with another statement of this transaction (`locked_balance_row`)
        return read
    high, low = session.execute(text("SELECT high, low FROM kiosk_locked_balance(:account)"),
                                {"account": acct.id}).one()
    return joined(high, low)


def locked_balance_row(account_id: ColumnElement[int]) -> TableValuedAlias:
    """PostgreSQL: `locked_balance` as a LATERAL table (high, low) for a statement that must lock something else
    first (kiosk.services.payment_locks.lock_payment: the payment, then the account it spends). Each row the function
    is called for locks that account; hand what it read to `read_under_lock`."""
    return func.kiosk_locked_balance(account_id).table_valued("high", "low").lateral("locked_balance")


def read_under_lock(session: Session, acct_id: int, high: int, low: int) -> None:
    """The balance a `locked_balance_row` read for the account: the transaction's next `locked_balance` of it is
    this, with no statement of its own (only the next: a spend changes it)."""
    session.info.setdefault(_INFO_LOCKED, {})[acct_id] = joined(high, low)


def locked_liability(session: Session, acct: Account) -> int:
    """What we owe on a liability account, read under its lock (`locked_balance`), as a positive number."""
    return -locked_balance(session, acct)


def balance(session: Session, acct: Account) -> int:
    """Sum of the account's lines: positive for a debit balance. Read in two halves, so a total no SQL SUM
    could hold (a household owing more than 2**63 fen) is still read exactly (kiosk.persistence.sums)."""
    high, low = session.execute(select(*split_sum(JournalLine.amount_fen))
                                .where(JournalLine.account_id == acct.id)).one()
    return joined(high, low)


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


def post_many(session: Session, kind: EntryKind, entries: Sequence[tuple[str, Sequence[tuple[int, int]]]], *,
              at: datetime | None = None, kiosk_id: int | None = None) -> list[int]:
    """Write many journal entries of one kind with bulk statements (a bill import of 100,000 rows): each
    entry is (memo, [(account_id, amount_fen), ...]) and obeys the same rules as `post` (two lines or more,
    whole non-zero fen, balanced), all checked before anything is written. Returns the entry ids in order.

    Anything that must see every journal entry (the audit chain) hooks here as well as in `post`."""
    for memo, lines in entries:
        if len(lines) < 2:
            raise InvalidAmount(f"a journal entry needs at least two lines ({memo})")
        for _account_id, fen in lines:
            if isinstance(fen, bool) or not isinstance(fen, int) or fen == 0:
                raise InvalidAmount(f"ledger amounts are non-zero integer fen, got {fen!r} ({memo})")
        if sum(fen for _a, fen in lines) != 0:
            raise InvalidAmount(f"journal entry does not balance ({memo})")
    if not entries:
        return []
    when = at or utcnow()
    ids = reserve_ids(session, JournalEntry.__table__, len(entries))
    insert_rows(session, JournalEntry.__table__, ("id", "kind", "memo", "created_at", "kiosk_id"),
                [(entry_id, str(kind), memo[:200], when, kiosk_id) for entry_id, (memo, _l) in zip(ids, entries)])
    line_ids = iter(reserve_ids(session, JournalLine.__table__, sum(len(lines) for _m, lines in entries)))
    written = [(entry_id, memo, [(next(line_ids), account_id, fen) for account_id, fen in lines])
               for entry_id, (memo, lines) in zip(ids, entries)]
    insert_rows(session, JournalLine.__table__, ("id", "entry_id", "account_id", "amount_fen"),
                [(line_id, entry_id, account_id, fen) for entry_id, _memo, lines in written
                 for line_id, account_id, fen in lines])
    # linked into the audit chain at commit, like the entries `post` writes
    chain.note_bulk_entries(session, when, str(kind), kiosk_id,
                            ((entry_id, memo[:200], lines) for entry_id, memo, lines in written))
    return ids


def reserve_ids(session: Session, table: Table, count: int) -> list[int]:
    """`count` fresh primary keys for bulk rows written with plain executemany (no RETURNING round trip per
    row): PostgreSQL hands them out from the table's sequence; on SQLite the unit of work holds the write lock
    from its first statement (BEGIN IMMEDIATE), so the keys above the largest one are this transaction's."""
    if count <= 0:
        return []
    if is_postgres(session):
        return list(session.scalars(text(f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) "
                                         "FROM generate_series(1, :n)"), {"n": count}))
    top = session.scalar(select(func.coalesce(func.max(table.c.id), 0)))
    return list(range(int(top) + 1, int(top) + 1 + count))


def ensure_accounts(session: Session, kind: AccountKind, owner: str, owners: Iterable[Any]) -> dict[Any, int]:
    """The ids of `kind` accounts for many owners at once (owner is "household_id", "card_id", "kiosk_id" or
    "fee_kind"), creating the missing ones with one insert-if-absent: {owner value: account id}."""
    codes = {value: _code(kind, **{"household_id": None, "card_id": None, "kiosk_id": None, "fee_kind": None,
                                   owner: str(value) if owner == "fee_kind" else value})
             for value in owners}
    by_code = _account_ids(session, list(codes.values()))
    missing = [value for value, code in codes.items() if code not in by_code]
    if missing:
        rows = [{"code": codes[v], "kind": str(kind), "household_id": None, "card_id": None, "kiosk_id": None,
                 "fee_kind": None, owner: str(v) if owner == "fee_kind" else v} for v in missing]
        if is_postgres(session):
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        session.execute(dialect_insert(Account).on_conflict_do_nothing(), rows)
        by_code |= _account_ids(session, [codes[v] for v in missing])
    return {value: by_code[code] for value, code in codes.items()}


def _account_ids(session: Session, codes: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(codes), 500):
        found.update({code: id_ for id_, code in session.execute(
            select(Account.id, Account.code).where(Account.code.in_(codes[start:start + 500])))})
    return found


def balances(session: Session, account_ids: Iterable[int]) -> dict[int, int]:
    """Many accounts' balances in a few grouped queries (exact, see `balance`): {account id: balance}."""
    ids = sorted(set(account_ids))
    out = dict.fromkeys(ids, 0)
    for start in range(0, len(ids), 500):
        rows = session.execute(select(JournalLine.account_id, *split_sum(JournalLine.amount_fen))
                               .where(JournalLine.account_id.in_(ids[start:start + 500]))
                               .group_by(JournalLine.account_id))
        out.update({account_id: joined(high, low) for account_id, high, low in rows})
    return out


def transfer(session: Session, kind: EntryKind, debit: Account, credit: Account, amount_fen: int, **kw: object) -> JournalEntry:
    """The common two-line entry: `amount_fen` moves into `debit` out of `credit`."""
    if amount_fen <= 0:
        raise InvalidAmount(f"transfer amount must be positive, got {amount_fen}")
    return post(session, kind, [Posting(debit, amount_fen), Posting(credit, -amount_fen)], **kw)  # type: ignore[arg-type]


def spend_liability(session: Session, kind: EntryKind, liability: Account, to: Account, amount_fen: int,
                    *, locked_balance: int | None = None, **kw: object) -> JournalEntry:
    """Take value out of a stored-value or credit account; it never goes below zero.

    `locked_balance`: the caller read `liability` with `locked_liability` in this transaction (nobody else can
    spend from it until commit): it is not locked and summed again."""
    available = locked_liability(session, liability) if locked_balance is None else locked_balance
    if amount_fen > available:
        raise InsufficientBalance(f"needs {amount_fen}, has {available}", available_fen=available)
    # Debit the liability (reduces what we owe), credit the destination.
    lines = [Posting(liability, amount_fen), Posting(to, -amount_fen)]
    return post(session, kind, lines, **kw)  # type: ignore[arg-type]


def reverse(session: Session, entry: JournalEntry, *, memo: str, kiosk_id: int | None = None,
            lines: Sequence[tuple[JournalLine, Account]] | None = None) -> JournalEntry:
    """A void: a new entry with every line negated; the original stays untouched. `lines`: the entry's lines with
    their accounts, when the caller read them with the entry (kiosk.services.voids); else one query (lines and
    accounts never change)."""
    rows = lines if lines is not None else session.execute(
        select(JournalLine, Account).join(Account, Account.id == JournalLine.account_id)
        .where(JournalLine.entry_id == entry.id).order_by(JournalLine.id)).all()
    return post(session, EntryKind.VOID, [Posting(acct, -line.amount_fen) for line, acct in rows],
                memo=memo, payment_id=entry.payment_id, kiosk_id=kiosk_id, reverses_entry_id=entry.id)


def unbalanced_entries(session: Session) -> list[int]:
    """Ids of entries whose lines do not sum to zero (the invariant check; should be empty)."""
    rows = session.execute(select(JournalLine.entry_id).group_by(JournalLine.entry_id)
                           .having(func.sum(JournalLine.amount_fen) != 0)).all()
    return [r[0] for r in rows]
