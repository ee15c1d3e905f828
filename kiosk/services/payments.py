"""Payments: the intent is written before money moves, the outcome lands with its ledger entry.

Every method ends the same way. Cash and QR money first arrives as the household's account
credit (each note or gateway payment on the ledger in the transaction that records it); then
`settle` spends credit or card stored value on what the payment is for, marks it succeeded,
numbers the receipt and writes the audit row, all in one transaction.

Honest retries (docs/reliability.md, "Honest retries"): one attempt of a use case holds its idempotency key
(`attempt`, kiosk.persistence.key_claims) from the intent to the settlement. Asking again with a known key
gives the recorded outcome (`replay_or_raise`): the same result for a payment that succeeded, the same error
for one that failed, PaymentCancelledByRestart (with its reference) for one released at a restart,
PaymentInProgress while another attempt still holds the key; an intent nobody holds is resumed.
"""
from __future__ import annotations

import string
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select, true, update
from sqlalchemy.orm import Session, sessionmaker

from kiosk.domain.money import Money
from kiosk.domain.receipt import ReceiptDocument, ReceiptItem, ReceiptKind
from kiosk.domain.terms import FEE_LABELS, AccountKind, BillStatus, EntryKind, FeeKind, PaymentMethod, PaymentPurpose, PaymentStatus
from kiosk.errors import (BillAlreadyPaid, BillNotFound, CardWritePending, DatabaseBusy, InsufficientBalance,
                          IntentRaced, KioskError, NotFound,
                          PaymentAbandoned, PaymentCancelled, PaymentCancelledByRestart, PaymentError,
                          PaymentInProgress, PaymentTimedOut, ReceiptAlreadyVoided, StorageError, all_error_classes)
from kiosk.i18n import N_, translate
from kiosk.persistence import key_claims
from kiosk.persistence.commit_option import riding
from kiosk.persistence.db import pinned, unit_of_work, update_exactly
from kiosk.persistence.models import Bill, Card, Household, Payment, PaymentItem, Receipt, utcnow
from kiosk.persistence.sums import joined
from kiosk.services import audit, ledger, receipts
from kiosk.services.split_tender import (balance_after, credit_part, first_spend, method_label,  # noqa: F401
                                         other_part, post_parts, source_account, split_fields)
from kiosk.services.split_tender import balance_after as split_balance_after
from kiosk.services.payment_locks import lock_payment, locked_card, locked_items  # noqa: F401
from kiosk.services.receipts import Till
from kiosk.services.intents import NOT_LOOKED_UP, find_by_key, record_intent, request_hash  # noqa: F401
from kiosk.services.intents import details_of, set_details
from kiosk.services.arrivals import (arriving_to, record_cash_in, record_gateway_paid,  # noqa: F401
                                     record_gateway_refund, record_unattributed_cash_in, suspense_account,
                                     unattributed_cash_fen)

R = TypeVar("R")

# How long a retry waits for another live attempt with its key to finish before it answers PaymentInProgress.
IN_PROGRESS_WAIT_S = 5.0


@dataclass(frozen=True)
class PaymentOutcome:
    payment_id: int
    reference: str
    status: PaymentStatus
    amount_fen: int
    receipt_number: str = ""
    document: ReceiptDocument | None = None
    replayed: bool = False
    failure_code: str = ""
    balance_after_fen: int | None = None  # card payments: the card's stored value right after this payment


def mask_unit(unit_no: str) -> str:
    """'2-0803' -> '2-**03': enough for the holder to recognise, not for a passer-by."""
    head, _, tail = unit_no.rpartition("-")
    if not head:
        return "**" + unit_no[-2:]
    return f"{head}-{'*' * max(len(tail) - 2, 1)}{tail[-2:]}"


# --- bills -----------------------------------------------------------------------------------------
def start_bill_payment(session: Session, till: Till, *, key: str, household_id: int, bill_ids: Sequence[int],
                       method: PaymentMethod, card_id: int | None = None, credit_fen: int = 0) -> tuple[Payment, bool]:
    """Intent + reservation of the bills. Of two kiosks racing for one bill exactly one gets it;
    the other is told BillAlreadyPaid before any money moves. `credit_fen`: the split-tender credit part."""
    ids = sorted(set(bill_ids))
    if not ids:
        raise BillNotFound("no bills chosen")
    # the bills and the payment already recorded under the key (if any) in one query: each bill row carries it;
    # paid by card, also the card (its status) and its stored value's balance (read without a lock, as it was:
    # an early refusal before money moves; the settlement spends under the account's lock)
    by_card = method == PaymentMethod.CARD and card_id is not None
    if by_card:
        stored = ledger.balance_row(ledger.account_code(AccountKind.STORED_VALUE, card_id=card_id))
        query = (select(Bill, Payment, Card, stored.c.high, stored.c.low)
                 .select_from(Bill.__table__.outerjoin(Payment.__table__, Payment.idempotency_key == key)
                              .outerjoin(Card.__table__, Card.id == card_id).join(stored, true())))
    else:
        query = select(Bill, Payment).outerjoin(Payment, Payment.idempotency_key == key)
    rows = session.execute(query.where(Bill.id.in_(ids), Bill.household_id == household_id).order_by(Bill.id)).all()
    bills = [row[0] for row in rows]
    existing = rows[0][1] if rows else None
    if len(bills) != len(ids):
        raise BillNotFound(f"bills {ids} of household {household_id}")
    amount = sum(b.amount_fen for b in bills)
    payment, replayed = record_intent(session, till, key=key, purpose=PaymentPurpose.BILLS, method=method,
                                      amount_fen=amount, household_id=household_id, card_id=card_id,
                                      details={"bill_ids": ids}, fingerprint={"bills": ids}, credit_fen=credit_fen,
                                      known=existing)
    if replayed or existing is not None:
        return payment, True
    if method == PaymentMethod.CARD:
        from kiosk.services.charges import usable_card

        usable_card(rows[0][2] if by_card else None)  # unknown/lost/frozen/replaced: refused
        available = -joined(rows[0][3], rows[0][4])  # the stored value's liability balance, read with the bills
        if available < other_part(payment):
            raise InsufficientBalance(f"needs {other_part(payment)}, has {available}", available_fen=available)
    # another kiosk's payment may have reserved one of them meanwhile: then BillAlreadyPaid, and nothing is kept
    update_exactly(session, update(Bill).where(Bill.id.in_(ids), Bill.status == str(BillStatus.OPEN))
                   .values(status=str(BillStatus.PENDING), payment_id=payment.id)
                   .execution_options(synchronize_session=False), len(ids), lambda: BillAlreadyPaid(f"bills {ids}"))
    session.add_all([PaymentItem(payment_id=payment.id, bill_id=b.id, fee_kind=b.kind, label=f"{b.kind} {b.period}",
                                 amount_fen=b.amount_fen) for b in bills])
    session.flush()
    return payment, False


def settle_bill_payment(session: Session, till: Till, payment: Payment, language: str,
                        now: datetime | None = None) -> PaymentOutcome:
    """Spend the money on the reserved bills: ledger entry, paid bills, receipt, audit — together. Only an intent
    settles: one settled already gives its outcome, one failed or released its error."""
    if payment.status != PaymentStatus.INTENT:
        return replay_or_raise(session, payment, replayed_outcome)
    rows: Sequence[Any] | None = locked_items(session, payment)  # read with the payment's lock (settle_or_fail)
    if rows is None:
        unit_no = select(Household.unit_no).where(Household.id == payment.household_id).scalar_subquery()
        rows = session.execute(select(PaymentItem, Bill.period, unit_no).outerjoin(Bill, Bill.id == PaymentItem.bill_id)
                               .where(PaymentItem.payment_id == payment.id).order_by(PaymentItem.id)).all()
    items = [item for item, _period, _unit in rows if item is not None]
    periods = {item.bill_id: period for item, period, _unit in rows if item is not None and period is not None}
    # the household's unit came with the items (no query of its own)
    household_unit = rows[0][2] if rows else getattr(session.get(Household, payment.household_id), "unit_no", None)
    source = source_account(session, payment)
    receivable = ledger.account(session, AccountKind.RECEIVABLE, household_id=payment.household_id)
    post_parts(session, till, payment, EntryKind.BILL_PAYMENT, [(receivable, payment.amount_fen)])
    update_exactly(session, update(Bill).where(Bill.payment_id == payment.id, Bill.status == str(BillStatus.PENDING))
                   .values(status=str(BillStatus.PAID)).execution_options(synchronize_session=False), len(items),
                   lambda: BillAlreadyPaid(f"payment {payment.reference} lost its reservation"))
    receipt_items = tuple(
        ReceiptItem(label=translate(FEE_LABELS[FeeKind(i.fee_kind)], language), amount_fen=i.amount_fen,
                    detail=periods.get(i.bill_id, ""))
        for i in items)
    fields: tuple[tuple[str, str], ...] = (
        (translate(N_("Reference"), language), payment.reference),)
    if payment.method == PaymentMethod.CARD:
        after = balance_after(session, source)
        fields += ((translate(N_("Card balance before"), language), _yuan(after + other_part(payment))),
                   (translate(N_("Card balance after"), language), _yuan(after)))
    notes = credit_notes(session, payment, language)
    return finish(session, till, payment, language, kind=ReceiptKind.BILL_PAYMENT,
                  title=translate(N_("Property fee payment receipt"), language), items=receipt_items,
                  household_label=mask_unit(household_unit) if household_unit else "", fields=fields, notes=notes,
                  now=now)


def credit_notes(session: Session, payment: Payment, language: str) -> tuple[str, ...]:
    """'No change given: 12.00 credited to your account' when more money came in than was due."""
    excess = payment.received_fen - other_part(payment)
    if payment.method in (PaymentMethod.CASH, PaymentMethod.QR) and excess > 0:
        return (translate(N_("No change given: {amount} credited to your account."), language, amount=_yuan(excess)),)
    return ()


def finish(session: Session, till: Till, payment: Payment, language: str, *, kind: ReceiptKind, title: str,
           items: tuple[ReceiptItem, ...], household_label: str, fields: tuple[tuple[str, str], ...] = (),
           notes: tuple[str, ...] = (), now: datetime | None = None) -> PaymentOutcome:
    """Mark succeeded, number and queue the receipt, audit: the last step of every payment."""
    now = now or utcnow()
    payment.status = str(PaymentStatus.SUCCEEDED)
    payment.completed_at = now
    balance_after = None
    if payment.method == PaymentMethod.CARD and payment.card_id is not None:
        balance_after = split_balance_after(session, ledger.account(session, AccountKind.STORED_VALUE,
                                                                    card_id=payment.card_id))
        set_details(payment, outcome={"balance_after_fen": balance_after})
    fields = split_fields(session, payment, language) + fields
    # the audit row before the receipt: taking the site's receipt number is the last thing this transaction does
    # (receipts.issue); the receipt names the payment, so the row needs no number to be found
    audit.record(session, f"kiosk:{till.kiosk_code}", "payment.succeeded", payment.reference,
                 amount_fen=payment.amount_fen)
    receipt, doc = receipts.issue(session, till, kind=kind, language=language, title=title,
                                  household_id=payment.household_id, household_label=household_label,
                                  payment_id=payment.id, items=items, total_fen=payment.amount_fen,
                                  payment_method=method_label(payment, language),
                                  fields=fields, notes=notes, now=now)
    return PaymentOutcome(payment.id, payment.reference, PaymentStatus.SUCCEEDED, payment.amount_fen,
                          receipts.format_number(receipt.number), doc, balance_after_fen=balance_after)


def fail(session: Session, till: Till, payment: Payment, code: str, *, cancelled: bool = False,
         params: Mapping[str, Any] | None = None) -> PaymentOutcome:
    """The payment will not complete: release its bills. Money that arrived stays as credit.

    `params` are the error's message parameters, kept with the code so that a retry says the same."""
    if payment.status != PaymentStatus.INTENT:
        return outcome(session, payment, replayed=True)
    payment.status = str(PaymentStatus.CANCELLED if cancelled else PaymentStatus.FAILED)
    payment.failure_code = code[:16]
    payment.completed_at = utcnow()
    if params:
        set_details(payment, failure_params={k: v if v is None or isinstance(v, (str, int, float, bool)) else str(v)
                                             for k, v in params.items()})
    session.execute(update(Bill).where(Bill.payment_id == payment.id, Bill.status == str(BillStatus.PENDING))
                    .values(status=str(BillStatus.OPEN), payment_id=None).execution_options(synchronize_session=False),
                    execution_options=riding())  # nobody reads its answer: it goes with the next statement
    audit.record(session, f"kiosk:{till.kiosk_code}", "payment.failed", payment.reference, code=code,
                 received_fen=payment.received_fen)
    return outcome(session, payment)


def outcome(session: Session, payment: Payment, replayed: bool = False) -> PaymentOutcome:
    receipt = session.scalars(select(Receipt).where(Receipt.payment_id == payment.id).order_by(Receipt.id)).first()
    recorded = details_of(payment).get("outcome", {})
    return PaymentOutcome(payment.id, payment.reference, PaymentStatus(payment.status), payment.amount_fen,
                          receipts.format_number(receipt.number) if receipt else "",
                          receipts.document(receipt) if receipt else None, replayed, payment.failure_code,
                          recorded.get("balance_after_fen"))


# --- honest retries --------------------------------------------------------------------------------
_riding: ContextVar[key_claims.RidingClaim | None] = ContextVar("kiosk_riding_claim", default=None)


def run_attempt(factory: sessionmaker[Session], key: str, body: Callable[[], R]) -> R:
    """`body()` (one attempt of a use case) holding `key`, as `attempt` does. On PostgreSQL reached directly the
    claim costs no round trip of its own on the usual way (kiosk.persistence.key_claims.RidingClaim): taken with the
    body's first statement, on a connection all its units of work use, let go with its settlement's COMMIT
    (`settle_or_fail`). If another process holds the key, the body's first message did nothing else and committed
    nothing: the body then runs once more under `attempt`, which waits for the key as always."""
    claim = key_claims.riding_claim(factory, key)
    if claim is not None:
        token = _riding.set(claim)
        try:
            with _timeouts_named(factory, key), pinned(claim.engine, claim.conn):
                return _again_if_raced(body)
        except key_claims.KeyHeld:
            pass
        finally:
            _riding.reset(token)
            claim.release()
    with attempt(factory, key):
        return _again_if_raced(body)


RACED_TRIES = 3  # an intent's INSERT that met its key's or reference's row meanwhile (kiosk.services.intents)


def _again_if_raced(body: Callable[[], R]) -> R:
    """`body()`, run again when its intent's unit of work was rolled back by IntentRaced: nothing of it was kept,
    and the next run reads the winner's payment under the key (or draws another reference)."""
    for _ in range(RACED_TRIES - 1):
        try:
            return body()
        except IntentRaced:
            pass
    return body()


@contextmanager
def attempt(factory: sessionmaker[Session], key: str) -> Iterator[None]:
    """Hold `key` for one attempt of a use case (every thread and process sees it, a dead one lets it go).

    Another attempt holding it is waited for up to IN_PROGRESS_WAIT_S (the loser of a race then reads the
    winner's outcome); still held after that: PaymentInProgress with the payment's reference."""
    held = key_claims.claim(factory, key, IN_PROGRESS_WAIT_S)
    if held is None:
        raise PaymentInProgress(f"idempotency key {key} is held by a running attempt",
                                reference=_reference_for(factory, key))
    try:
        with _timeouts_named(factory, key):
            yield
    finally:
        held.release()


@contextmanager
def _timeouts_named(factory: sessionmaker[Session], key: str) -> Iterator[None]:
    try:
        yield
    except DatabaseBusy as exc:  # a lock or statement timeout: the unit of work that met it was rolled back whole
        raise PaymentTimedOut(str(exc), seconds=exc.params.get("seconds", 0),
                              reference=_reference_after_timeout(factory, key)) from exc


def let_go_with_commit() -> key_claims.RidingClaim | None:
    """Inside the settlement's unit of work, when it is about to commit: this attempt's riding claim lets go of its
    key with that COMMIT (the claim, to be told `committed` once the unit of work has committed), or None."""
    claim = _riding.get()
    return claim if claim is not None and claim.let_go_with_commit() else None


def committed(claim: key_claims.RidingClaim | None) -> None:
    if claim is not None:
        claim.let_go = True


def _reference_after_timeout(factory: sessionmaker[Session], key: str) -> str:
    """The payment's reference when its intent was recorded before the timeout. Read on PostgreSQL only, where a
    read waits for no lock; SQLite's every unit of work takes the write lock that just ran out, so there the
    reference is the key's, as for a payment that never got an intent."""
    if factory.kw["bind"].dialect.name == "postgresql":
        try:
            return _reference_for(factory, key)
        except StorageError:
            pass
    return key.rsplit(":", 1)[-1].upper()


def _reference_for(factory: sessionmaker[Session], key: str) -> str:
    with unit_of_work(factory) as session:
        payment = find_by_key(session, key)
        return payment.reference if payment is not None else key.rsplit(":", 1)[-1].upper()


def replay_or_raise(session: Session, payment: Payment, replay: Callable[[Session, Payment], R]) -> R:
    """A known key whose payment is no longer an intent: its recorded result, or its recorded failure."""
    if payment.status == PaymentStatus.SUCCEEDED:
        return replay(session, payment)
    raise recorded_failure(payment)


def replayed_outcome(session: Session, payment: Payment) -> PaymentOutcome:
    return outcome(session, payment, replayed=True)


def recorded_failure(payment: Payment) -> KioskError:
    """The error a payment that did not complete ended with, as its first attempt raised it (code and message),
    for a retry: released at a restart -> PaymentCancelledByRestart; voided -> ReceiptAlreadyVoided."""
    reference, code = payment.reference, payment.failure_code or KioskError.code
    detail = f"payment {reference} is {payment.status} ({code})"
    if payment.status == PaymentStatus.VOIDED:
        return ReceiptAlreadyVoided(detail)
    if code == PaymentAbandoned.code:
        return PaymentCancelledByRestart(detail, reference=reference)
    if payment.status == PaymentStatus.CANCELLED and code == CardWritePending.code:
        # the card write was given up at a later tap: "tap again to finish" is no longer true
        return PaymentCancelled(detail, reference=reference)
    cls = _error_classes().get(code, KioskError)
    params = {"reference": reference, **details_of(payment).get("failure_params", {})}
    wanted = {name for _text, name, _spec, _conv in string.Formatter().parse(cls.message) if name}
    if not wanted <= params.keys():  # recorded before its parameters were kept: the code, in a message that fits
        return PaymentError(detail, reference=reference)
    return cls(detail, **params)


def failure_of(exc: BaseException) -> tuple[str, dict[str, Any]]:
    """(code, message parameters) of what made a payment fail, for `fail`."""
    return str(getattr(exc, "code", KioskError.code)), dict(getattr(exc, "params", {}) or {})


def _error_classes() -> dict[str, type[KioskError]]:
    return {cls.code: cls for cls in all_error_classes()}


SettledWith = Callable[[Session], None]  # what a move_money leaves for the settlement's transaction to record
MoveMoney = Callable[[Payment], SettledWith | None]


def pay_bills(factory: sessionmaker[Session], till: Till, *, key: str, household_id: int, bill_ids: Sequence[int],
              method: PaymentMethod, language: str, card_id: int | None = None,
              move_money: MoveMoney | None = None, credit_fen: int = 0) -> PaymentOutcome:
    """The whole use case: intent (own transaction) -> money moves -> settle (own transaction).

    `move_money` does what the method needs between the two (write the card, take notes, wait for
    the gateway); if it raises, the payment fails, its bills are released, and what arrived is kept. What it
    returns, if anything, is recorded by the settlement in its transaction (the card station's write marked done).
    A retry with the same key returns the first outcome (or its error), or resumes an unfinished intent
    nobody is working on; while another attempt is, PaymentInProgress.
    """
    return run_attempt(factory, key, lambda: _pay_bills(factory, till, key=key, household_id=household_id,
                                                       bill_ids=bill_ids, method=method, language=language,
                                                       card_id=card_id, move_money=move_money,
                                                       credit_fen=credit_fen))


def _pay_bills(factory: sessionmaker[Session], till: Till, *, key: str, household_id: int, bill_ids: Sequence[int],
               method: PaymentMethod, language: str, card_id: int | None,
               move_money: MoveMoney | None, credit_fen: int) -> PaymentOutcome:
    """One attempt's body (run_attempt): intent, money moves, settlement."""
    with unit_of_work(factory) as session:
        payment, replayed = start_bill_payment(session, till, key=key, household_id=household_id,
                                               bill_ids=bill_ids, method=method, card_id=card_id,
                                               credit_fen=credit_fen)
        if replayed and payment.status != PaymentStatus.INTENT:
            return replay_or_raise(session, payment, replayed_outcome)
        payment_id = payment.id
    settled_with = None
    if move_money is not None:
        try:
            settled_with = move_money(payment)
        except CardWritePending:
            raise  # the card may hold the payment already: the station settles or cancels it at the next tap
        except Exception as exc:
            with unit_of_work(factory) as session:
                code, params = failure_of(exc)
                fail(session, till, lock_payment(session, payment_id), code, params=params)
            raise
    return settle_or_fail(factory, till, payment_id,
                          lambda session, payment: settle_bill_payment(session, till, payment, language),
                          replay=replayed_outcome, intent=payment, also=settled_with)


def settle_or_fail(factory: sessionmaker[Session], till: Till, payment_id: int,
                   settle: Callable[[Session, Payment], R],
                   on_fail: Callable[[Session, Payment], None] | None = None, *,
                   replay: Callable[[Session, Payment], R], intent: Payment | None = None,
                   card_id: int | None = None, also: SettledWith | None = None) -> R:
    """The settle transaction, on the locked payment: an intent settles; one settled meanwhile (at a card tap)
    gives `replay`, one failed or released meanwhile its error. If the credit (or the money that arrived as
    credit) is no longer there when the payment settles (spent meanwhile at another kiosk), the payment fails
    and releases what it reserved: the money that arrived stays as credit, nothing is consumed. A card payment
    is left to the card station (the card already holds the spend: its next tap settles it or gives the value
    back). `intent`: the payment as its intent recorded it, when the caller has it: the account it spends is then
    locked with it. `card_id`: a card the settlement locks (a replacement's old card), locked with them, between the
    payment and the account (lock_payment). `also`: recorded in the same transaction once the payment settled (what
    the money's move returned: the card station's write marked done)."""
    try:
        with unit_of_work(factory) as session:
            spends = first_spend(session, intent) if intent is not None else None
            # its items with it, and the card and the account it spends: one query
            payment = lock_payment(session, payment_id, with_items=True, spends=spends, card_id=card_id)
            if payment.status != PaymentStatus.INTENT:
                return replay_or_raise(session, payment, replay)
            result = settle(session, payment)
            if also is not None:
                also(session)
            letting_go = let_go_with_commit()  # the key's claim goes with this COMMIT
        committed(letting_go)
        return result
    except InsufficientBalance as exc:
        with unit_of_work(factory) as session:
            payment = lock_payment(session, payment_id)
            if payment.method != PaymentMethod.CARD and payment.status == PaymentStatus.INTENT:
                code, params = failure_of(exc)
                fail(session, till, payment, code, params=params)
                if on_fail is not None:
                    on_fail(session, payment)
        raise


def _get(session: Session, payment_id: int) -> Payment:
    payment = session.get(Payment, payment_id)
    if payment is None:
        raise NotFound(f"payment {payment_id}")
    return payment


def _yuan(fen: int) -> str:
    return Money(fen).plain()
