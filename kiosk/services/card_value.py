"""Stored value on cards: top-up (household credit -> card, final once the card is verified) and card
replacement (fee, balance transfer)."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from kiosk.domain.receipt import ReceiptItem, ReceiptKind
from kiosk.domain.terms import FEE_LABELS, AccountKind, CardStatus, EntryKind, FeeKind, PaymentMethod, PaymentPurpose
from kiosk.errors import (AlreadyDone, CardError, CardRemoved, CardReplaced, CardUnknown, CardWritePending,
                          CreditNotEnough, InsufficientBalance, InvalidAmount, InvalidEntry, NotFound)
from kiosk.i18n import N_, translate
from kiosk.persistence import id_reservoir
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Card, CardOperation, Household, Payment, PaymentItem, utcnow
from kiosk.services import audit, charges, ledger, payments, split_tender, top_up_locks
from kiosk.services.cards import (
    CardFacts,
    CardWrite,
    LedgerCardState,
    WriteCard,
    get_card,
    new_card_no,
    normalize_uid,
    perform_card_write,
    record_card_write,
    resolve_card_write,
)
from kiosk.services.charges import FeeLine, actor_of, refuse_flagged, usable_card, yuan
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


@dataclass(frozen=True)
class ReplacementResult:
    outcome: PaymentOutcome
    old_card_id: int
    new_card_id: int
    new_card_no: str
    transferred_fen: int
    card_written: bool = False
    write_error: str = ""
    write: CardWrite | None = None


# --- top-up ------------------------------------------------------------------------------------------
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
                       op.new_value_fen, card_written=op.status == "done", write=_write_of(session, op))


def _write_of(session: Session, op: CardOperation) -> CardWrite:
    card = get_card(session, op.card_id)
    return CardWrite(op.id, op.kind, card.id, card.uid_hex, op.old_value_fen, op.new_value_fen, op.old_counter,
                     op.new_counter)


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


def card_and_household(session: Session, card_id: int, household_id: int) -> tuple[Card, Household, int]:
    """The card, the household and the household's count of cards (for new_card_no), one query. CardUnknown: no
    such card; NotFound: no such household.

    The card row is locked (FOR NO KEY UPDATE, as `settle_top_up` locks it): a top-up settling on this card at
    another kiosk either commits first, and the replacement then sums the value it added, or finds the card
    replaced and leaves its money as the household's credit. Without the lock the replacement summed the old
    card's value without a top-up that had not committed yet, which then landed on a replaced card.

    No query when the settlement locked the card with its payment (payments.lock_payment's card_id, PostgreSQL):
    the lock order is then payment, card, the account the fee is paid from, as a top-up's (top_up_locks)."""
    held = payments.locked_card(session, card_id)  # locked with the settlement's payment (charges.run's locks_card)
    if held is not None and held[0].household_id == household_id and held[1] is not None:
        return held[0], held[1], held[2]
    count = select(func.count()).select_from(Card).where(Card.household_id == household_id).scalar_subquery()
    row = session.execute(select(Card, Household, count)
                          .select_from(Card.__table__.outerjoin(Household.__table__, Household.id == household_id))
                          .where(Card.id == card_id)
                          .with_for_update(of=Card.__table__, key_share=True)).first()
    if row is None:
        raise CardUnknown(f"card {card_id}")
    if row[1] is None:
        raise NotFound(f"household {household_id}")
    return row[0], row[1], int(row[2] or 0)


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


# --- replacement -----------------------------------------------------------------------------------
def replace_card(factory: sessionmaker[Session], till: Till, *, key: str, household_id: int, old_card_id: int,
                 new_uid: str, method: PaymentMethod, fee_fen: int, language: str,
                 move_money: Callable[[Payment], None] | None = None,
                 write_card: WriteCard | None = None, credit_fen: int = 0) -> ReplacementResult:
    """补卡: pay the replacement fee (purpose CARD_REPLACEMENT), move the old card's stored value to
    the new card (BALANCE_TRANSFER), mark the old card REPLACED for ever, receipt, then write the new card.

    With method CARD the fee comes out of the old card's value (allowed even when it is lost/frozen).
    """
    new_uid_hex = normalize_uid(new_uid)
    label = translate(FEE_LABELS[FeeKind.CARD_FEE], language)

    def start(session: Session) -> tuple[Payment, bool]:
        # one query: the old card, the payment already under the key (if any) and whether the new uid is taken
        taken = aliased(Card)
        row = session.execute(select(Card, Payment, select(taken.id).where(taken.uid_hex == new_uid_hex)
                                     .limit(1).scalar_subquery())
                              .outerjoin(Payment, Payment.idempotency_key == key)
                              .where(Card.id == old_card_id)).first()
        if row is None:
            raise CardUnknown(f"card {old_card_id}")
        old, existing, new_uid_card = row[0], row[1], row[2]
        if old.household_id != household_id:
            raise CardUnknown(f"card {old_card_id} is not of household {household_id}")
        if old.status == CardStatus.REPLACED and existing is None:
            raise CardReplaced(old.card_no)
        if existing is None:
            refuse_flagged(old)  # its balance moves only once staff have repaired it
        if existing is None and new_uid_card is not None:
            raise AlreadyDone(f"card {new_uid_hex} is already registered")
        return charges.start_fee_payment(
            session, till, key=key, purpose=PaymentPurpose.CARD_REPLACEMENT, method=method, household_id=household_id,
            lines=[FeeLine(str(FeeKind.CARD_FEE), label, fee_fen)],
            card_id=old.id if method == PaymentMethod.CARD else None,
            details={"old_card_id": old.id, "new_uid": new_uid_hex},
            fingerprint={"old_card": old.id, "new_uid": new_uid_hex}, blocked_card_ok=True, credit_fen=credit_fen,
            known=existing)

    def settle(session: Session, payment: Payment) -> ReplacementResult:
        # one query: the old card (locked against a top-up settling on it at another kiosk), the household and its
        # count of cards
        old, hh, cards_now = card_and_household(session, old_card_id, household_id)
        if old.status == CardStatus.REPLACED:
            raise CardReplaced(old.card_no)
        charges.collect(session, till, payment, EntryKind.CARD_FEE)
        # the new card and its account have ids taken ahead (PostgreSQL): their INSERTs ride, no answer waited for
        new = Card(id=ahead.take("cards"), uid_hex=new_uid_hex, card_no=new_card_no(session, hh, cards_now),
                   kind=old.kind, household_id=hh.id, resident_id=old.resident_id, status=str(CardStatus.ACTIVE),
                   issue_seq=old.issue_seq + 1, plate=old.plate)  # a vehicle card's replacement keeps its plate
        session.add(new)
        session.flush()
        old_account = ledger.account(session, AccountKind.STORED_VALUE, card_id=old.id)
        new_account = ledger.new_account(session, AccountKind.STORED_VALUE, ahead.take("accounts"), card_id=new.id)
        moved = ledger.locked_liability(session, old_account)  # nobody spends it meanwhile
        if moved < 0:
            raise InsufficientBalance(f"card {old.card_no} is negative", available_fen=moved)
        if moved:  # the lock is held and the balance read under it: not locked and summed a second time
            ledger.spend_liability(session, EntryKind.BALANCE_TRANSFER, old_account, new_account, moved,
                                   locked_balance=moved, payment_id=payment.id, kiosk_id=till.kiosk_id,
                                   memo=f"{old.card_no} -> {new.card_no}")
        old.status = str(CardStatus.REPLACED)
        old.replaced_by_id = new.id
        old.status_changed_at = utcnow()
        session.flush()
        write = record_card_write(session, new, kind="issue", old_value_fen=0, new_value_fen=moved,
                                  payment_id=payment.id)
        audit.record(session, actor_of(till), "card.replaced", old.card_no, new_card=new.card_no,
                     transferred_fen=moved, payment=payment.reference)
        fields = ((translate(N_("Reference"), language), payment.reference),
                  (translate(N_("Old card"), language), old.card_no),
                  (translate(N_("New card"), language), new.card_no),
                  (translate(N_("Balance moved to the new card"), language), yuan(moved)))
        out = payments.finish(session, till, payment, language, kind=ReceiptKind.CARD_REPLACEMENT,
                              title=translate(N_("Card replacement receipt"), language),
                              items=(ReceiptItem(label, payment.amount_fen),), household_label=mask_unit(hh.unit_no),
                              fields=fields, notes=payments.credit_notes(session, payment, language))
        return ReplacementResult(out, old.id, new.id, new.card_no, moved, write=write)

    def replay(session: Session, payment: Payment) -> ReplacementResult:
        old = get_card(session, json.loads(payment.details)["old_card_id"])
        op = session.scalars(select(CardOperation).where(CardOperation.payment_id == payment.id,
                                                         CardOperation.kind == "issue")).first()
        if op is None:  # a replacement settles only with its new card's issue write: never an empty success
            raise NotFound(f"the new card of replacement {payment.reference}")
        new = get_card(session, op.card_id)
        return ReplacementResult(payments.outcome(session, payment, replayed=True), old.id, new.id, new.card_no,
                                 op.new_value_fen, card_written=op.status == "done", write=_write_of(session, op))

    # the old card is locked with the payment, before the account the fee is paid from (card_and_household); the
    # intent's first message takes the new card's id and its account's (id_reservoir.ids_ahead)
    with id_reservoir.ids_ahead(cards=1, accounts=1) as ahead:
        result = charges.run(factory, till, key=key, start=start, settle=settle, replay=replay, move_money=move_money,
                             locks_card=old_card_id)
    if result.write is None or result.outcome.replayed:
        return result
    written, error = perform_card_write(factory, result.write, write_card, actor_of(till))
    return ReplacementResult(result.outcome, result.old_card_id, result.new_card_id, result.new_card_no,
                             result.transferred_fen, written, error, result.write)
