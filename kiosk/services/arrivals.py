"""Money arriving for a payment: a banknote stacked, a gateway's paid (or refunded) order, a note nobody's payment
was waiting for. Each lands on the ledger as the household's credit (or the kiosk's suspense account) in the
transaction that records it; the settlement spends it later (kiosk.services.payments)."""
from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import BigInteger, String, and_, bindparam, event, exists, literal, select, true, union_all
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session, aliased

from kiosk.domain.terms import AccountKind, EntryKind
from kiosk.errors import NotFound
from kiosk.persistence.db import is_postgres
from kiosk.persistence.models import Account, CashEventRecord, JournalEntry, Payment
from kiosk.services import audit, ledger
from kiosk.services.intents import set_details
from kiosk.services.receipts import Till


def arriving_to(session: Session, payment_id: int, *, gateway_txn: str | None = None) -> Payment:
    """The payment money arrives for, with its household's credit account, in one query: the credit account, which
    the money lands on, then costs no statement of its own (ledger.known_account). On a kiosk that has not seen the
    household since it started, that is one round trip less per note or QR payment. On PostgreSQL the same statement
    creates the account when the household has none yet (the first money it ever had arrive): one round trip less
    again (`_payment_with_credit_made`). `gateway_txn`: the gateway's transaction the money comes with; whether the
    payment already has its entry (a duplicate notification) comes with the same query, for `record_gateway_paid`
    and `record_gateway_refund`."""
    statement = _payment_with_credit_made() if is_postgres(session) else _payment_with_credit()
    memo = _paid_memo(gateway_txn) if gateway_txn is not None else None
    found = session.execute(statement, {"payment_id": payment_id, "memo": memo}).first()
    if found is None:
        raise NotFound(f"payment {payment_id}")
    payment, credit, entered = found
    if credit is not None:  # None: none yet (SQLite), or created by another kiosk this moment: `ledger.account` reads it
        ledger.known_account(session, credit)
    if memo is not None:
        session.info.setdefault(_INFO_ENTERED, {})[(payment_id, memo)] = bool(entered)
    return payment


_INFO_ENTERED = "kiosk.arrivals.entered"  # (payment id, memo) -> whether its gateway entry exists, read by arriving_to


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _forget_entered(session: Session, *_args: object) -> None:
    session.info.pop(_INFO_ENTERED, None)


def _already_entered() -> Any:
    """Whether the payment has a journal entry with the memo bound as `memo` (a gateway's transaction), as a column."""
    return (exists().where(JournalEntry.payment_id == Payment.id,
                           JournalEntry.memo == bindparam("memo", type_=String)).label("entered"))


@functools.cache
def _payment_with_credit() -> Any:
    """`arriving_to`'s statement on SQLite, built once."""
    return (select(Payment, Account, _already_entered())
            .outerjoin(Account, and_(Account.household_id == Payment.household_id,
                                     Account.kind == str(AccountKind.CREDIT)))
            .where(Payment.id == bindparam("payment_id", type_=BigInteger)))


@functools.cache
def _payment_with_credit_made() -> Any:
    """`arriving_to`'s statement on PostgreSQL, built once: the payment and its household's credit account, which a
    data-modifying CTE inserts if absent (ON CONFLICT DO NOTHING on the account's unique code) and otherwise the
    stored one. At most one of the two is there: the statement does not see its own insert, and the insert does
    nothing when the stored row exists. Neither is when another kiosk's transaction created the account after this
    statement's snapshot was taken; `arriving_to` then leaves it to `ledger.account`, which reads it."""
    accounts, pid = Account.__table__, bindparam("payment_id", type_=BigInteger)
    code = ledger.code_of(AccountKind.CREDIT, Payment.household_id)
    created = (pg_insert(accounts)
               .from_select(["code", "kind", "household_id"],
                            select(code, literal(str(AccountKind.CREDIT), String), Payment.household_id)
                            .where(Payment.id == pid, Payment.household_id.is_not(None)))
               .on_conflict_do_nothing().returning(*accounts.c).cte("created"))
    stored = select(*accounts.c).select_from(accounts.join(Payment, accounts.c.code == code)).where(Payment.id == pid)
    credit = union_all(select(*created.c), stored).cte("credit")
    return (select(Payment, aliased(Account, credit), _already_entered())
            .outerjoin(credit, true()).where(Payment.id == pid))


def record_cash_in(session: Session, till: Till, payment: Payment, *, counter: int, value_fen: int) -> int:
    """A banknote was stacked: on the ledger as the household's credit in the same transaction
    that records the validator's event counter. Returns the total received so far."""
    session.add(CashEventRecord(kiosk_id=till.kiosk_id, counter=counter, kind="stacked", value_fen=value_fen,
                                payment_id=payment.id))
    box = ledger.account(session, AccountKind.CASH_BOX, kiosk_id=till.kiosk_id)
    credit = ledger.account(session, AccountKind.CREDIT, household_id=payment.household_id)
    ledger.transfer(session, EntryKind.CASH_IN, box, credit, value_fen, payment_id=payment.id, kiosk_id=till.kiosk_id,
                    memo=f"note {counter}")
    payment.received_fen += value_fen
    session.flush()
    return payment.received_fen


def record_gateway_paid(session: Session, till: Till, payment: Payment, amount_fen: int, gateway_txn: str,
                        network: str = "") -> bool:
    """The QR gateway says the order is paid: the money is the household's credit until settled.

    Idempotent on `gateway_txn`: a second call for the same transaction posts nothing and
    returns False (duplicate notifications, a query racing a notification, a restart).
    """
    memo = _paid_memo(gateway_txn)
    if _entered(session, payment.id, memo):
        return False
    clearing = ledger.account(session, AccountKind.GATEWAY_CLEARING)
    credit = ledger.account(session, AccountKind.CREDIT, household_id=payment.household_id)
    ledger.transfer(session, EntryKind.CASH_IN, clearing, credit, amount_fen, payment_id=payment.id,
                    kiosk_id=till.kiosk_id, memo=memo)
    payment.received_fen += amount_fen
    if network:  # which network took it: receipts and the settlement name it (no extra statement: same UPDATE)
        set_details(payment, network=network)
    session.flush()
    return True


def record_gateway_refund(session: Session, till: Till, payment: Payment, amount_fen: int, gateway_txn: str,
                          refund_id: str) -> bool:
    """A gateway payment that landed after the kiosk gave up was refunded: both movements on the ledger
    (in through the clearing account, straight back out), so the books match the gateway's records.
    Idempotent on `refund_id`."""
    memo = f"gateway refund {refund_id}"[:200]
    if _gateway_entry(session, payment.id, memo) is not None:
        return False
    clearing = ledger.account(session, AccountKind.GATEWAY_CLEARING)
    credit = ledger.account(session, AccountKind.CREDIT, household_id=payment.household_id)
    if not _entered(session, payment.id, _paid_memo(gateway_txn)):
        ledger.transfer(session, EntryKind.CASH_IN, clearing, credit, amount_fen, payment_id=payment.id,
                        kiosk_id=till.kiosk_id, memo=_paid_memo(gateway_txn))
    ledger.transfer(session, EntryKind.REFUND, credit, clearing, amount_fen, payment_id=payment.id,
                    kiosk_id=till.kiosk_id, memo=memo)
    audit.record(session, f"kiosk:{till.kiosk_code}", "payment.late_refunded", payment.reference,
                 amount_fen=amount_fen, gateway_txn=gateway_txn, refund_id=refund_id)
    return True


def _paid_memo(gateway_txn: str) -> str:
    """The memo of the entry a gateway's paid transaction lands with (its idempotency: one entry per transaction)."""
    return f"gateway {gateway_txn}"[:200]


def _entered(session: Session, payment_id: int, memo: str) -> bool:
    """Has the payment an entry with this memo? As `arriving_to` read it in this transaction (once: the entry may be
    written next), or asked now."""
    known = session.info.get(_INFO_ENTERED, {}).pop((payment_id, memo), None)
    if known is not None:
        return bool(known)
    return _gateway_entry(session, payment_id, memo) is not None


def _gateway_entry(session: Session, payment_id: int, memo: str) -> JournalEntry | None:
    return session.scalars(select(JournalEntry).where(JournalEntry.payment_id == payment_id,
                                                      JournalEntry.memo == memo)).first()


# --- banknotes nobody's payment was waiting for ----------------------------------------------------
def suspense_account(session: Session, kiosk_id: int) -> Account:
    """Where a note stacked outside any payment is held until staff assign it (liability)."""
    return ledger.account(session, AccountKind.SUSPENSE, kiosk_id=kiosk_id)


def record_unattributed_cash_in(session: Session, till: Till, *, counter: int, value_fen: int, detail: str = "") -> None:
    """A stacked note no open payment owns: into the cash box, held in the kiosk's suspense account,
    with the validator's counter, and an audit row staff see — in one transaction."""
    session.add(CashEventRecord(kiosk_id=till.kiosk_id, counter=counter, kind="unattributed", value_fen=value_fen,
                                payment_id=None))
    box = ledger.account(session, AccountKind.CASH_BOX, kiosk_id=till.kiosk_id)
    ledger.transfer(session, EntryKind.CASH_IN, box, suspense_account(session, till.kiosk_id), value_fen,
                    kiosk_id=till.kiosk_id, memo=f"unattributed note {counter}")
    audit.record(session, f"kiosk:{till.kiosk_code}", "cash.unattributed", f"counter {counter}",
                 value_fen=value_fen, detail=detail)
    session.flush()


def unattributed_cash_fen(session: Session, kiosk_id: int) -> int:
    """Cash held in the kiosk's suspense account (for the staff screen and the handover)."""
    return ledger.liability_balance(session, suspense_account(session, kiosk_id))
