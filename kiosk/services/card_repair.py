"""The ledger side of a staff repair of a flagged card: the flagged list, the repair recorded before the card
is touched, and its completion (flag cleared, audited) once the rewritten card has been read back.

A repair is a CardOperation of kind "repair": old value/counter = what the card showed (or 0 when it could not
be decoded), new value = the ledger's stored value, new counter = past anything seen on the card or the ledger.
It moves no money: the ledger's balance is the card's new value, before and after.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.errors import CardError, NotFound
from kiosk.persistence.models import AuditEntry, Card, CardOperation, Household, utcnow
from kiosk.services import audit
from kiosk.services.cards import card_balance, get_card
from kiosk.services.payments import mask_unit

REPAIR = "repair"


@dataclass(frozen=True)
class FlaggedCard:
    card_id: int
    uid_hex: str
    card_no: str
    kind: str  # CardKind
    status: str  # CardStatus
    unit_masked: str
    reason: str  # code + detail, as flagged
    flagged_at: datetime | None  # the last `card.flagged` audit row


@dataclass(frozen=True)
class RepairRecord:
    """A pending repair: the card must end holding `new_value_fen` at `new_counter`."""

    operation_id: int
    card_id: int
    old_value_fen: int
    new_value_fen: int
    old_counter: int
    new_counter: int
    resumed: bool  # an earlier repair of this card was cut short and is being finished


def flagged_cards(session: Session, site_id: int) -> tuple[FlaggedCard, ...]:
    """Cards of the site flagged for tampering or rollback, with the time of their last flag, newest first."""
    rows = session.execute(select(Card, Household.unit_no).join(Household, Household.id == Card.household_id)
                           .where(Household.site_id == site_id, Card.flagged_reason != "")).all()
    out = []
    for card, unit_no in rows:
        at = session.scalar(select(func.max(AuditEntry.at)).where(AuditEntry.action == "card.flagged",
                                                                  AuditEntry.subject == card.card_no))
        out.append(FlaggedCard(card.id, card.uid_hex, card.card_no, card.kind, card.status, mask_unit(unit_no),
                               card.flagged_reason, at))
    return tuple(sorted(out, key=lambda f: (f.flagged_at is not None, f.flagged_at or datetime.min, f.card_id),
                        reverse=True))


def highest_counter(session: Session, card_id: int) -> int:
    """The highest counter any write of this card ever aimed at or started from (done, pending or cancelled)."""
    top = session.scalar(select(func.max(CardOperation.new_counter)).where(CardOperation.card_id == card_id))
    low = session.scalar(select(func.max(CardOperation.old_counter)).where(CardOperation.card_id == card_id))
    return max(int(top or 0), int(low or 0))


def pending_repair(session: Session, card_id: int) -> CardOperation | None:
    return session.scalars(select(CardOperation).where(CardOperation.card_id == card_id,
                                                       CardOperation.kind == REPAIR,
                                                       CardOperation.status == "pending")
                           .order_by(CardOperation.id.desc())).first()


def record_repair(session: Session, card_id: int, *, card_value_fen: int | None, card_counter: int | None,
                  ledger_counter: int, max_counter: int, actor: str) -> RepairRecord:
    """The pending repair, written before the card is touched. An earlier repair cut short is reused when it
    still aims at the ledger's balance (so a retry never writes another value); otherwise it is cancelled."""
    card = get_card(session, card_id)
    balance = card_balance(session, card_id)
    op = pending_repair(session, card_id)
    if op is not None and op.new_value_fen == balance:
        return RepairRecord(op.id, card_id, op.old_value_fen, op.new_value_fen, op.old_counter, op.new_counter, True)
    if op is not None:  # the ledger moved since (e.g. a top-up settled): write the balance as it is now
        op.status, op.resolved_at = "cancelled", utcnow()
        audit.record(session, actor, "card.write_cancelled", str(card_id), operation=op.id,
                     new_value_fen=op.new_value_fen, error="repair superseded")
    counter = max(card_counter or 0, ledger_counter, highest_counter(session, card_id)) + 1
    if counter > max_counter:
        raise CardError(f"card {card.card_no}: the transaction counter is exhausted; replace the card")
    old_value = card_value_fen if card_value_fen is not None and card_value_fen >= 0 else 0
    op = CardOperation(card_id=card_id, kind=REPAIR, old_value_fen=old_value, new_value_fen=balance,
                       old_counter=card_counter if card_counter is not None else ledger_counter,
                       new_counter=counter, status="pending")
    session.add(op)
    session.flush()
    audit.record(session, actor, "card.repair_started", card.card_no, operation=op.id, uid=card.uid_hex,
                 card_value_fen=card_value_fen, card_counter=card_counter, value_fen=balance, counter=counter,
                 reason=card.flagged_reason)
    return RepairRecord(op.id, card_id, op.old_value_fen, balance, op.old_counter, counter, False)


def finish_repair(session: Session, operation_id: int, *, actor: str, card_value_fen: int | None,
                  card_counter: int | None) -> str:
    """The rewritten card read back as the repair's target: the repair is done, the flag cleared, the repair
    audited with the staff member, old/new counter and value and the reason. Returns the flag reason.

    Refuses (the repair stays pending, a retry rewrites) when the ledger's balance moved meanwhile."""
    op = session.get(CardOperation, operation_id)
    if op is None or op.kind != REPAIR:
        raise NotFound(f"repair {operation_id}")
    card = get_card(session, op.card_id)
    if op.status == "done":
        return ""
    balance = card_balance(session, op.card_id)
    if balance != op.new_value_fen:
        raise CardError(f"the ledger balance of card {card.card_no} moved during the repair "
                        f"({op.new_value_fen} -> {balance}); repair again")
    op.status, op.resolved_at = "done", utcnow()
    reason, card.flagged_reason = card.flagged_reason, ""
    session.flush()
    audit.record(session, actor, "card.repaired", card.card_no, operation=op.id, uid=card.uid_hex,
                 old_value_fen=card_value_fen, new_value_fen=op.new_value_fen, old_counter=card_counter,
                 new_counter=op.new_counter, reason=reason)
    return reason


def flag_reason(session: Session, card_id: int) -> str:
    return get_card(session, card_id).flagged_reason
