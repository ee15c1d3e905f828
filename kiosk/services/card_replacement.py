"""补卡, a card's replacement: the fee paid (purpose CARD_REPLACEMENT), the old card's stored value moved to the new
card (BALANCE_TRANSFER), the old card REPLACED for ever, the receipt, then the new card written."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from kiosk.domain.receipt import ReceiptItem, ReceiptKind
from kiosk.domain.terms import FEE_LABELS, AccountKind, CardStatus, EntryKind, FeeKind, PaymentMethod, PaymentPurpose
from kiosk.errors import AlreadyDone, CardReplaced, CardUnknown, InsufficientBalance, NotFound
from kiosk.i18n import N_, translate
from kiosk.persistence import id_reservoir
from kiosk.persistence.models import Card, CardOperation, Household, Payment, utcnow
from kiosk.services import audit, charges, ledger, payments
from kiosk.services.cards import (CardWrite, WriteCard, get_card, new_card_no, normalize_uid, perform_card_write,
                                  record_card_write, write_of)
from kiosk.services.charges import FeeLine, actor_of, refuse_flagged, yuan
from kiosk.services.payments import PaymentOutcome, mask_unit
from kiosk.services.receipts import Till


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
                                 op.new_value_fen, card_written=op.status == "done", write=write_of(session, op))

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
