"""Stored value on cards: top-up (household credit -> card, final once the card is verified). A card's
replacement (fee, balance transfer) is kiosk.services.card_replacement."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kiosk.domain.receipt import ReceiptItem, ReceiptKind
from kiosk.domain.terms import AccountKind, CardStatus, EntryKind, PaymentMethod, PaymentPurpose
from kiosk.errors import (CardError, CardRemoved, CardReplaced, CardUnknown, CardWritePending,
                          CreditNotEnough, InsufficientBalance, InvalidAmount, InvalidEntry, NotFound)
from kiosk.i18n import N_, translate
from kiosk.persistence import id_reservoir
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Card, CardOperation, Payment, PaymentItem
from kiosk.services import audit, ledger, payments, split_tender, top_up_locks
from kiosk.services.cards import (
    CardFacts,
    CardWrite,
    LedgerCardState,
    WriteCard,
    get_card,
    normalize_uid,
    record_card_write,
    resolve_card_write,
    write_of,
)
from kiosk.services.charges import actor_of, usable_card, yuan
from kiosk.services.payments import PaymentOutcome, mask_unit
from kiosk.services.receipts import Till

TOP_UP_FEE = "top_up"  # the payment item's kind for stored value (not revenue)
# what a top-up's preparation read, its write, and the ids it took ahead for the settlement's journal entries
Prepared = tuple[top_up_locks.Preparing, CardWrite, id_reservoir.IdsAhead]


@dataclass(frozen=True)
class TopUpResult:
    outcome: PaymentOutcome
    card_id: int
    balance_before_fen: int
    balance_after_fen: int
    card_written: bool = False
    write_error: str = ""
    write: CardWrite | None = None


def start_top_up(session: Session, till: Till, *, key: str, card_id: int, amount_fen: int,
                 method: PaymentMethod, language: str = "zh_Hans", credit_fen: int = 0,
                 known: Payment | None = payments.NOT_LOOKED_UP) -> tuple[Payment, bool]:
    """The intent: cash / QR / account credit (alone, or `credit_fen` of it with cash or QR for the rest),
    never the card's own value. Replays return the first. `known`: the payment the caller already looked up
    under `key` (None: there is none), as for payments.record_intent."""
    if method == PaymentMethod.CARD:
        raise InvalidEntry("a card cannot be topped up from itself", field="method")
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        raise InvalidAmount(str(amount_fen))
    card = session.get(Card, card_id)  # no query when the caller read the card in this session
    found = payments.find_by_key(session, key) if known is payments.NOT_LOOKED_UP else known
    if found is None or card is None:  # a retry: its outcome, whatever the card is now
        card = usable_card(card)
    payment, replayed = payments.record_intent(session, till, key=key, purpose=PaymentPurpose.TOP_UP, method=method,
                                               amount_fen=amount_fen, household_id=card.household_id,
                                               card_id=card.id, details={"card_id": card.id, "language": language},
                                               credit_fen=credit_fen, known=found)
    if not replayed:
        session.add(PaymentItem(payment_id=payment.id, fee_kind=TOP_UP_FEE,
                                label=translate(N_("Card top-up"), language)[:120], amount_fen=amount_fen))
        session.flush()
    return payment, replayed


def prepare_top_up(session: Session, payment_id: int) -> CardWrite:
    """The money has arrived as the household's credit: lock the payment and record the pending card write (old and
    new value, counters) before the card is touched. Nothing is spent yet: the ledger entry waits for the card.
    The write carries what the card station's tap of it would read (`CardWrite.at_tap`), read by the same
    statement: the tap costs no round trip of its own."""
    return _prepare(session, payment_id)[0]


def _prepare(session: Session, payment_id: int) -> tuple[CardWrite, top_up_locks.Preparing]:
    """`prepare_top_up`, with what it read (for `settle_top_up`'s `prepared`)."""
    found = top_up_locks.for_preparing(session, payment_id)  # one statement on PostgreSQL
    card, payment = usable_card(found.card), found.payment
    if found.credit_fen < payment.amount_fen:  # spent meanwhile at another kiosk
        raise CreditNotEnough(f"needs {payment.amount_fen}, has {found.credit_fen}", available_fen=found.credit_fen)
    write = record_card_write(session, card, kind="top_up", old_value_fen=found.stored_fen,
                              new_value_fen=found.stored_fen + payment.amount_fen, payment_id=payment.id,
                              last_counter=found.last_counter)
    return replace(write, at_tap=(_facts_at_tap(card, found, write), payment.reference)), found


def _facts_at_tap(card: Card, found: top_up_locks.Preparing, write: CardWrite) -> CardFacts:
    """What the card station's tap of this write would read (kiosk.cards.reconcile.write_at_tap), as the preparation
    read it: the write's own old value and counter are the ledger's side, unless something else of the card is
    open, which the tap then resolves first."""
    ledger_side = None if found.anything_open else LedgerCardState(card.id, write.old_counter, write.old_value_fen, ())
    return CardFacts(card.id, card.uid_hex, card.card_no, card.kind, card.status, found.unit_no, card.issue_seq,
                     card.flagged_reason or "", ledger=ledger_side)


def open_top_up_write(session: Session, payment: Payment) -> CardWrite | None:
    """The pending card write of an unfinished top-up (the money came in, the card was not verified yet)."""
    op = session.scalars(select(CardOperation).where(CardOperation.payment_id == payment.id,
                                                     CardOperation.status == "pending")).first()
    if op is None:
        return None
    card = get_card(session, op.card_id)
    return CardWrite(op.id, op.kind, card.id, card.uid_hex, op.old_value_fen, op.new_value_fen, op.old_counter,
                     op.new_counter)


def settle_top_up(session: Session, till: Till, payment_id: int, operation_id: int, language: str | None = None, *,
                  card_verified: bool, now: datetime | None = None, intent: Payment | None = None,
                  prepared: Prepared | None = None) -> TopUpResult:
    """Household credit -> the card's stored value, the receipt with the balance before and after, and the
    card write marked done when the card was verified, in one transaction. Without verification (no
    writer) the write stays pending and the card is brought up to date on its next tap. `language`: the receipt's
    (None: the one the top-up was started in); `intent`: the payment as its intent recorded it, when the caller has
    it: the account it spends is then locked with the payment and the card (top_up_locks.for_settling).
    `prepared`: what this attempt's preparation read, the write and the journal entries' ids it took ahead: the
    locks are then taken by checks that ride with the writes (top_up_locks.as_prepared, PostgreSQL), and
    top_up_locks.PreparedChanged raised if they find anything changed."""
    if prepared is not None:
        found = top_up_locks.as_prepared(session, *prepared)
    else:
        spends = split_tender.first_spend(session, intent) if intent is not None else None
        # the payment, then the card (locked against a replacement at another kiosk, `card_and_household`), then the
        # account it spends; with the card's household, the pending write and the card's stored value before (read
        # without a lock: a top-up adds to the stored value, it spends the household's credit under its lock)
        found = top_up_locks.for_settling(session, payment_id, operation_id, spends)
    payment, card, unit_no = found.payment, found.card, found.unit_no
    if payment.status != "intent":  # settled or given up meanwhile (a tap, a restart)
        return payments.replay_or_raise(session, payment, top_up_result)
    if card is None:
        raise CardUnknown(f"card {payment.card_id}")
    if card.status == CardStatus.REPLACED:  # replaced at another kiosk since the value was written to it
        raise CardReplaced(card.card_no)
    if unit_no is None:
        raise NotFound(f"household {card.household_id}")
    language = language or payment_language(payment)
    stored = ledger.account(session, AccountKind.STORED_VALUE, card_id=card.id)
    before = found.stored_before_fen
    # the money is all household credit by now; a split top-up still books its credit part and the part that
    # came in as notes or by QR as two balanced entries (split_tender.post_parts)
    payments.post_parts(session, till, payment, EntryKind.TOP_UP, [(stored, payment.amount_fen)])
    after = before + payment.amount_fen
    if card_verified:
        resolve_card_write(session, operation_id, done=True, actor=actor_of(till))
    fields = ((translate(N_("Reference"), language), payment.reference),
              (translate(N_("Card number"), language), card.card_no),
              (translate(N_("Card balance before"), language), yuan(before)),
              (translate(N_("Card balance after"), language), yuan(after)))
    out = payments.finish(session, till, payment, language, kind=ReceiptKind.TOP_UP,
                          title=translate(N_("Card top-up receipt"), language),
                          items=(ReceiptItem(translate(N_("Card top-up"), language), payment.amount_fen),),
                          household_label=mask_unit(unit_no), fields=fields,
                          notes=payments.credit_notes(session, payment, language), now=now)
    op = found.operation if found.operation is not None else session.get(CardOperation, operation_id)
    if op is None:
        raise NotFound(f"card operation {operation_id}")
    return TopUpResult(out, card.id, before, after, card_written=card_verified,
                       write=CardWrite(op.id, op.kind, card.id, card.uid_hex, op.old_value_fen, op.new_value_fen,
                                       op.old_counter, op.new_counter))


def cancel_top_up(session: Session, till: Till, payment: Payment, operation_id: int, code: str,
                  params: dict[str, object] | None = None) -> None:
    """The card will not take the value (refused, or given up at its next tap): the write is cancelled, the
    payment too, and the money stays on the household's account as credit."""
    resolve_card_write(session, operation_id, done=False, actor=actor_of(till), error=code)
    payments.fail(session, till, payment, code, cancelled=True, params=params)


def payment_language(payment: Payment) -> str:
    return str(json.loads(payment.details or "{}").get("language", "zh_Hans"))


def top_up_result(session: Session, payment: Payment) -> TopUpResult:
    """The outcome of an earlier top-up (a replay), from the ledger entry and card operation it left."""
    op = session.scalars(select(CardOperation).where(CardOperation.payment_id == payment.id)
                         .order_by(CardOperation.id)).first()
    if op is None:  # a top-up settles only with its card write: never an empty success
        raise NotFound(f"the card write of top-up {payment.reference}")
    return TopUpResult(payments.outcome(session, payment, replayed=True), payment.card_id or 0, op.old_value_fen,
                       op.new_value_fen, card_written=op.status == "done", write=write_of(session, op))


def top_up(factory: sessionmaker[Session], till: Till, *, key: str, card_uid: str, amount_fen: int,
           method: PaymentMethod, language: str, move_money: Callable[[Payment], None] | None = None,
           write_card: WriteCard | None = None, credit_fen: int = 0) -> TopUpResult:
    """The whole top-up: intent -> money arrives as credit (move_money) -> pending card write recorded ->
    the card written and read back (write_card) -> only then the ledger entry, receipt and done write.

    If the card leaves and does not come back (CardWritePending / CardRemoved from the writer) the intent
    and the write stay open with the money as the household's credit; the next tap of the card completes
    it (`kiosk.cards.station`). A card refused while writing (tampered, rolled back) cancels the top-up,
    the money staying as credit. Without a writer the ledger is settled and the card follows on its next
    tap. A retry with the same key resumes an open top-up and never adds the value twice.
    """
    return payments.run_attempt(factory, key, lambda: _top_up(
        factory, till, key=key, card_uid=card_uid, amount_fen=amount_fen, method=method, language=language,
        move_money=move_money, write_card=write_card, credit_fen=credit_fen))


def _top_up(factory: sessionmaker[Session], till: Till, *, key: str, card_uid: str, amount_fen: int,
            method: PaymentMethod, language: str, move_money: Callable[[Payment], None] | None,
            write_card: WriteCard | None, credit_fen: int) -> TopUpResult:
    with unit_of_work(factory) as session:
        # the tapped card and the payment already under the key (if any) in one query, in the intent's transaction
        card, found = card_and_key(session, card_uid, key)
        if found is None or card is None:  # a retry: its outcome, whatever the card
            card = usable_card(card)
        payment, replayed = start_top_up(session, till, key=key, card_id=card.id, amount_fen=amount_fen,
                                         method=method, language=language, credit_fen=credit_fen, known=found)
        if replayed and payment.status != "intent":
            return payments.replay_or_raise(session, payment, top_up_result)
        payment_id = payment.id
        write = open_top_up_write(session, payment) if replayed else None
    prepared: Prepared | None = None
    if write is None:
        if move_money is not None:
            try:
                move_money(payment)
            except Exception as exc:
                with unit_of_work(factory) as session:
                    code, params = payments.failure_of(exc)
                    payments.fail(session, till, payments.lock_payment(session, payment_id), code, params=params)
                raise
        try:
            # the preparation's first message also takes the settlement's journal entry ids (PostgreSQL)
            with id_reservoir.ids_ahead(journal_entries=2) as ahead, unit_of_work(factory) as session:
                write, read = _prepare(session, payment_id)
            prepared = (read, write, ahead) if ahead.got.get("journal_entries") else None
        except InsufficientBalance as exc:  # the credit it needs is gone: the top-up fails, what arrived stays
            with unit_of_work(factory) as session:
                code, params = payments.failure_of(exc)
                payments.fail(session, till, payments.lock_payment(session, payment_id), code, params=params)
            raise
    if write_card is not None:
        try:
            write_card(write)
        except (CardWritePending, CardRemoved) as exc:
            with unit_of_work(factory) as session:
                reference = _payment(session, payment_id).reference
                audit.record(session, actor_of(till), "card.write_pending", reference, operation=write.operation_id)
            if isinstance(exc, CardWritePending):
                raise
            raise CardWritePending(f"operation {write.operation_id}", reference=reference) from exc
        except CardError as exc:
            with unit_of_work(factory) as session:
                code, params = payments.failure_of(exc)
                cancel_top_up(session, till, payments.lock_payment(session, payment_id), write.operation_id, code,
                              params)
            raise
    with _cancelled_if_replaced(factory, till, payment_id, write.operation_id):
        verified = write_card is not None
        if prepared is not None:
            try:
                return _settled_once(factory, lambda session: settle_top_up(
                    session, till, payment_id, write.operation_id, language, card_verified=verified,
                    prepared=prepared))
            except top_up_locks.PreparedChanged:  # rolled back whole: settled below, under locks read afresh
                pass
        return _settled_once(factory, lambda session: settle_top_up(
            session, till, payment_id, write.operation_id, language, card_verified=verified, intent=payment))


def _settled_once(factory: sessionmaker[Session], settle: Callable[[Session], TopUpResult]) -> TopUpResult:
    """`settle` in a unit of work whose COMMIT also lets go of the attempt's key."""
    with unit_of_work(factory) as session:
        result = settle(session)
        letting_go = payments.let_go_with_commit()  # the key's claim goes with this COMMIT
    payments.committed(letting_go)
    return result


@contextmanager
def _cancelled_if_replaced(factory: sessionmaker[Session], till: Till, payment_id: int,
                           operation_id: int) -> Iterator[None]:
    """A top-up whose card was replaced at another kiosk before it settled: the write and the payment are cancelled,
    the money stays as the household's credit (the replacement moved the card's value before this top-up's), and
    the resident is told CardReplaced."""
    try:
        yield
    except CardReplaced as exc:
        with unit_of_work(factory) as session:
            code, params = payments.failure_of(exc)
            cancel_top_up(session, till, payments.lock_payment(session, payment_id), operation_id, code, params)
        raise


def card_and_key(session: Session, card_uid: str, key: str) -> tuple[Card | None, Payment | None]:
    """The card with this uid (None: unknown) and the payment recorded under `key` (None: none), one query: the
    key is unique, so the outer join adds no row. An unknown card is refused whatever the key holds."""
    row = session.execute(select(Card, Payment).outerjoin(Payment, Payment.idempotency_key == key)
                          .where(Card.uid_hex == normalize_uid(card_uid))).first()
    return (row[0], row[1]) if row is not None else (None, None)


def complete_top_up(factory: sessionmaker[Session], till: Till, payment_id: int, operation_id: int) -> TopUpResult:
    """The card was found holding an open top-up (or it was re-applied) at a later tap: settle it now."""
    with _cancelled_if_replaced(factory, till, payment_id, operation_id), unit_of_work(factory) as session:
        return settle_top_up(session, till, payment_id, operation_id, card_verified=True)


def _payment(session: Session, payment_id: int) -> Payment:
    payment = session.get(Payment, payment_id)
    if payment is None:
        raise NotFound(f"payment {payment_id}")
    return payment
