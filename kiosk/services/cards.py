"""IC cards: identify by UID, issue, report loss and lift it, freeze / unfreeze, and the card-write seam (CardOperation)."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from datetime import datetime

from sqlalchemy import ScalarSelect, Select, and_, case, exists, func, select
from sqlalchemy.orm import Session, sessionmaker

from kiosk.domain.receipt import ReceiptKind
from kiosk.domain.terms import CARD_KIND_LABELS, AccountKind, CardKind, CardStatus, PaymentStatus
from kiosk.errors import AlreadyDone, CardBlocked, CardFrozenByStaff, CardReplaced, CardUnknown, InvalidEntry, NotFound
from kiosk.i18n import N_, translate
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Card, CardOperation, Household, Payment, utcnow
from kiosk.services import audit, ledger, receipts
from kiosk.services.charges import household as get_household
from kiosk.services.charges import refuse_flagged, usable_card
from kiosk.services.payments import mask_unit
from kiosk.services.receipts import Till

_UID = re.compile(r"^[0-9A-F]{8}$|^[0-9A-F]{14}$|^[0-9A-F]{20}$")


@dataclass(frozen=True)
class CardIdentity:
    card_id: int
    uid_hex: str
    card_no: str
    kind: str  # CardKind
    status: str  # CardStatus
    household_id: int
    site_id: int
    unit_masked: str
    balance_fen: int  # ledger truth


@dataclass(frozen=True)
class CardActionResult:
    card_id: int
    card_no: str
    status: str
    receipt_number: str = ""


@dataclass(frozen=True)
class CardWrite:
    """What the card application must write to the card; recorded as a pending CardOperation first."""

    operation_id: int
    kind: str  # "top_up" (write the value) / "issue" (format a new card with this value)
    card_id: int
    uid_hex: str
    old_value_fen: int
    new_value_fen: int
    old_counter: int
    new_counter: int
    # the row as this process recorded it (detached once committed): marked done or cancelled without reading it
    # again (resolve_card_write's `recorded`); None for a write read back from the database
    operation: CardOperation | None = field(default=None, compare=False, repr=False)
    # what the card station's tap would read (kiosk.cards.reconcile.write_at_tap), read with the write's
    # preparation, and the payment's reference to show staff: the tap then reads nothing (a top-up's write); None:
    # the tap reads it
    at_tap: tuple[CardFacts, str] | None = field(default=None, compare=False, repr=False)


WriteCard = Callable[[CardWrite], None]


def normalize_uid(uid: str) -> str:
    """'04:a2 1b:7c' -> '04A21B7C'; 4-, 7- and 10-byte UIDs only."""
    text = re.sub(r"[\s:\-]", "", uid).upper()
    if not _UID.match(text):
        raise InvalidEntry(f"card UID {uid!r}", field="card UID")
    return text


def card_by_uid(session: Session, uid: str) -> Card | None:
    return session.scalars(select(Card).where(Card.uid_hex == normalize_uid(uid))).one_or_none()


def get_card(session: Session, card_id: int) -> Card:
    card = session.get(Card, card_id)
    if card is None:
        raise CardUnknown(f"card {card_id}")
    return card


def card_balance(session: Session, card_id: int) -> int:
    return ledger.liability_balance(session, ledger.account(session, AccountKind.STORED_VALUE, card_id=card_id))


def identify_card(session: Session, uid: str) -> CardIdentity:
    """The household behind a tapped card. Raises CardUnknown, CardBlocked (lost), CardFrozen (the resident's own
    freeze), CardFrozenByStaff, CardReplaced."""
    card = card_by_uid(session, uid)
    if card is not None and card.status == CardStatus.FROZEN and card.frozen_by_staff:
        raise CardFrozenByStaff(card.card_no)
    card = usable_card(card)
    hh = get_household(session, card.household_id)
    return CardIdentity(card.id, card.uid_hex, card.card_no, card.kind, card.status, hh.id, hh.site_id,
                        mask_unit(hh.unit_no), card_balance(session, card.id))


def issue_card(session: Session, *, household_id: int, uid: str, kind: CardKind, actor: str,
               resident_id: int | None = None, plate: str = "") -> tuple[CardIdentity, CardWrite]:
    """Register a new card for a household, open its stored-value account (balance 0) and record the
    pending "issue" write; the caller formats the card with `perform_card_write` after committing. A vehicle
    card carries its plate (shown on the card picker)."""
    uid_hex = normalize_uid(uid)
    if card_by_uid(session, uid_hex) is not None:
        raise AlreadyDone(f"card {uid_hex} is already registered")
    hh = get_household(session, household_id)
    card = Card(uid_hex=uid_hex, card_no=new_card_no(session, hh), kind=str(kind), household_id=hh.id,
                resident_id=resident_id, status=str(CardStatus.ACTIVE),
                plate=plate.strip()[:16] if kind == CardKind.VEHICLE else "")
    session.add(card)
    session.flush()
    ledger.account(session, AccountKind.STORED_VALUE, card_id=card.id)
    write = record_card_write(session, card, kind="issue", old_value_fen=0, new_value_fen=0)
    audit.record(session, actor, "card.issued", card.card_no, uid=uid_hex, household=hh.unit_no, kind=str(kind))
    return identify_card(session, uid_hex), write


def new_card_no(session: Session, hh: Household, cards_now: int | None = None) -> str:
    """Printed card number: site, household and a running count, e.g. '0001-000042-03'. `cards_now`: the
    household's count of cards, when the caller read it with the household (card_replacement.card_and_household)."""
    count = cards_now if cards_now is not None else (
        session.scalar(select(func.count()).select_from(Card).where(Card.household_id == hh.id)) or 0)
    return f"{hh.site_id:04d}-{hh.id:06d}-{count + 1:02d}"[:20]


def _owned(session: Session, household_id: int | None, card_id: int) -> Card:
    card = get_card(session, card_id)
    if household_id is not None and card.household_id != household_id:
        raise CardUnknown(f"card {card_id} is not of household {household_id}")
    if card.status == CardStatus.REPLACED:
        raise CardReplaced(card.card_no)
    return card


def _set_status(session: Session, card: Card, status: CardStatus, actor: str, action: str, now: datetime,
                **details: object) -> None:
    before = card.status
    card.status = str(status)
    card.status_changed_at = now
    session.flush()
    extra = {k: v for k, v in details.items() if v not in ("", None, False)}
    audit.record(session, actor, action, card.card_no, before=before, after=str(status), **extra)


def report_loss(session: Session, till: Till, *, household_id: int, card_id: int, language: str,
                actor: str | None = None, now: datetime | None = None) -> CardActionResult:
    """挂失: the card is blocked at once, everywhere (every use goes through `usable_card`); a receipt."""
    now = now or utcnow()
    card = _owned(session, household_id, card_id)
    if card.status == CardStatus.LOST:
        raise CardBlocked(card.card_no)
    _set_status(session, card, CardStatus.LOST, actor or f"kiosk:{till.kiosk_code}", "card.reported_lost", now)
    number = _status_receipt(session, till, card, ReceiptKind.CARD_LOSS, N_("Card loss report"), language, now)
    return CardActionResult(card.id, card.card_no, card.status, number)


def freeze_card(session: Session, *, card_id: int, actor: str, household_id: int | None = None,
                by_staff: bool = False, reason: str = "", now: datetime | None = None) -> CardActionResult:
    """临时冻结: a card in use is blocked for a while, asked for by the resident (`household_id` checks it is
    theirs) or set by staff (`by_staff`, with a reason; only staff lift it then). Its value stays on it."""
    card = _owned(session, household_id, card_id) if household_id is not None else get_card(session, card_id)
    if card.status == CardStatus.REPLACED:
        raise CardReplaced(card.card_no)
    if card.status == CardStatus.LOST:
        raise CardBlocked(card.card_no)
    if card.status == CardStatus.FROZEN:
        raise AlreadyDone(f"card {card.card_no} is already frozen")
    card.frozen_by_staff = by_staff
    _set_status(session, card, CardStatus.FROZEN, actor, "card.frozen", now or utcnow(), reason=reason,
                by_staff=by_staff)
    return CardActionResult(card.id, card.card_no, card.status)


def unfreeze_card(session: Session, till: Till, *, household_id: int, card_id: int, language: str,
                  actor: str | None = None, by_staff: bool = False, reason: str = "",
                  now: datetime | None = None) -> CardActionResult:
    """解冻: a frozen card is usable again. The resident lifts their own freeze; a freeze set by staff needs
    staff (`by_staff`). A card reported lost is not frozen: `lift_loss` unblocks a found one."""
    now = now or utcnow()
    card = _owned(session, household_id, card_id)
    if card.status == CardStatus.ACTIVE:
        raise AlreadyDone(f"card {card.card_no} is already active")
    if card.status == CardStatus.LOST:
        raise CardBlocked(card.card_no)
    if card.frozen_by_staff and not by_staff:
        raise CardFrozenByStaff(card.card_no)
    if not by_staff:
        refuse_flagged(card)  # the resident sees staff first; staff may lift their freeze (taps stay refused)
    card.frozen_by_staff = False
    _set_status(session, card, CardStatus.ACTIVE, actor or f"kiosk:{till.kiosk_code}", "card.unfrozen", now,
                reason=reason, by_staff=by_staff)
    number = _status_receipt(session, till, card, ReceiptKind.CARD_UNFREEZE, N_("Card unfrozen"), language, now)
    return CardActionResult(card.id, card.card_no, card.status, number)


def lift_loss(session: Session, till: Till, *, household_id: int, card_id: int, language: str, actor: str,
              by_staff: bool = False, reason: str = "", now: datetime | None = None) -> CardActionResult:
    """解挂: a card reported lost and found is usable again. The resident proves possession by tapping it with the
    household PIN (`unblock_found_card`); staff lift it with a reason. A card whose replacement was issued is
    REPLACED and can never be unblocked (CardReplaced): its value is on the new card."""
    now = now or utcnow()
    card = _owned(session, household_id, card_id)
    if card.status != CardStatus.LOST:
        raise AlreadyDone(f"card {card.card_no} is not reported lost")
    card.frozen_by_staff = False
    _set_status(session, card, CardStatus.ACTIVE, actor, "card.loss_lifted", now, reason=reason, by_staff=by_staff)
    number = _status_receipt(session, till, card, ReceiptKind.CARD_UNFREEZE, N_("Loss report lifted"), language,
                             now)
    return CardActionResult(card.id, card.card_no, card.status, number)


def blocked_card(session: Session, uid: str) -> Card:
    """A tapped card that is lost or frozen (the ones a resident may unblock with the household PIN). Raises
    CardUnknown, CardReplaced (never again), AlreadyDone (the card is in use)."""
    card = card_by_uid(session, uid)
    if card is None:
        raise CardUnknown(uid)
    if card.status == CardStatus.REPLACED:
        raise CardReplaced(card.card_no)
    if card.status == CardStatus.ACTIVE:
        raise AlreadyDone(f"card {card.card_no} is in use")
    return card


def _status_receipt(session: Session, till: Till, card: Card, kind: ReceiptKind, title: str, language: str,
                    now: datetime) -> str:
    hh = get_household(session, card.household_id)
    fields = ((translate(N_("Card number"), language), card.card_no),
              (translate(N_("Card kind"), language), translate(CARD_KIND_LABELS[CardKind(card.kind)], language)))
    receipt, _doc = receipts.issue(session, till, kind=kind, language=language, title=translate(title, language),
                                   household_id=hh.id, household_label=mask_unit(hh.unit_no), fields=fields, now=now)
    return receipts.format_number(receipt.number)


# --- the card-write seam ---------------------------------------------------------------------------
NOT_READ: Any = object()  # record_card_write's last_counter when the caller has not read it


def pending_write_exists(card_id: Any) -> Any:
    """Whether the card has a pending write, as a column (what a tap resolves first)."""
    return exists().where(CardOperation.card_id == card_id, CardOperation.status == "pending")


def write_of(session: Session, op: CardOperation) -> CardWrite:
    """The CardWrite a recorded card operation stands for, with its card's uid."""
    card = get_card(session, op.card_id)
    return CardWrite(op.id, op.kind, card.id, card.uid_hex, op.old_value_fen, op.new_value_fen, op.old_counter,
                     op.new_counter)


def last_done_write(statement: Select[Any], card_id: Any) -> Select[Any]:
    """`statement` (over CardOperation) narrowed to the card's last done write: what the card holds once nothing of
    it is open (the highest counter; of two done writes with one counter, the later)."""
    return (statement.where(CardOperation.card_id == card_id, CardOperation.status == "done")
            .order_by(CardOperation.new_counter.desc(), CardOperation.id.desc()).limit(1))


def last_done_unsettled(card_id: Any) -> ScalarSelect[Any]:
    """1 when the card's last done write is a spend whose payment never settled (the card holds less than the
    ledger: a tap settles the payment or gives the value back), else 0 or NULL, as a scalar subquery."""
    return last_done_write(select(case((and_(CardOperation.kind == "spend", Payment.id.is_not(None),
                                             Payment.status != PaymentStatus.SUCCEEDED), 1), else_=0))
                           .select_from(CardOperation).outerjoin(Payment, Payment.id == CardOperation.payment_id),
                           card_id).scalar_subquery()


def last_done_counter(card_id: Any) -> ScalarSelect[Any]:
    """The counter of the card's last done write (NULL: none), as a scalar subquery (record_card_write)."""
    return (select(func.max(CardOperation.new_counter))
            .where(CardOperation.card_id == card_id, CardOperation.status == "done").scalar_subquery())


def record_card_write(session: Session, card: Card, *, kind: str, new_value_fen: int, old_value_fen: int,
                      payment_id: int | None = None, last_counter: Any = NOT_READ) -> CardWrite:
    """A pending CardOperation, written in the caller's transaction before anyone touches the card.

    Counters follow the card application: issuing writes counter 0, every value write adds one. `last_counter`:
    what the caller read of `last_done_counter` of the card in this transaction (None: no done write yet).
    """
    if kind == "issue":
        counter, new_counter = 0, 0
    else:
        last = session.scalar(select(last_done_counter(card.id))) if last_counter is NOT_READ else last_counter
        counter = int(last or 0)
        new_counter = counter + 1
    op = CardOperation(card_id=card.id, payment_id=payment_id, kind=kind, old_value_fen=old_value_fen,
                       new_value_fen=new_value_fen, old_counter=counter, new_counter=new_counter, status="pending",
                       resolved_at=None)  # every column set: the kiosk holds the row whole (done_with_settlement)
    session.add(op)
    session.flush()
    return CardWrite(op.id, kind, card.id, card.uid_hex, old_value_fen, new_value_fen, counter, new_counter, op)


def resolve_card_write(session: Session, operation_id: int, *, done: bool, actor: str, error: str = "",
                       recorded: CardOperation | None = None) -> None:
    """The pending write done or cancelled, with its audit row; nothing for a write already resolved. `recorded`: the
    row as this process recorded it and nobody has changed since (CardWrite.operation), merged as it is instead of
    read: a chained row, whose link's digest needs every column. Held in `op`: a session keeps a clean object only
    weakly."""
    op = session.merge(recorded, load=False) if recorded is not None else session.get(CardOperation, operation_id)
    if op is None:
        raise NotFound(f"card operation {operation_id}")
    if op.status != "pending":
        return
    op.status = "done" if done else "cancelled"
    op.resolved_at = utcnow()
    session.flush()
    audit.record(session, actor, "card.write_done" if done else "card.write_cancelled", str(op.card_id),
                 operation=op.id, new_value_fen=op.new_value_fen, error=error[:120])


def perform_card_write(factory: sessionmaker[Session], write: CardWrite, write_card: WriteCard | None,
                       actor: str) -> tuple[bool, str]:
    """Run the card application's write for a write the ledger already made final (issue, replacement)
    and record its outcome; returns (written, error code).

    The ledger is the truth: a failed write leaves the operation pending, so the card is written
    (issued) on its next tap; the failure is in the audit log.
    """
    if write_card is None:
        return False, ""
    try:
        write_card(write)
    except Exception as exc:  # noqa: BLE001 - any failure of the writer is recorded, never lost
        code = str(getattr(exc, "code", type(exc).__name__))
        with unit_of_work(factory) as session:
            audit.record(session, actor, "card.write_failed", str(write.card_id), operation=write.operation_id,
                         error=code)
        return False, code
    with unit_of_work(factory) as session:
        resolve_card_write(session, write.operation_id, done=True, actor=actor, recorded=write.operation)
    return True, ""


def record_card_sync(session: Session, card_id: int, *, old_value_fen: int, value_fen: int, old_counter: int,
                     counter: int, actor: str, reason: str) -> None:
    """A write that only put the card back in step with the ledger (a cancelled write's MAC, a value given
    back): recorded as done so that the ledger's counter follows the card's."""
    op = CardOperation(card_id=card_id, kind="sync", old_value_fen=old_value_fen, new_value_fen=value_fen,
                       old_counter=old_counter, new_counter=counter, status="done", resolved_at=utcnow())
    session.add(op)
    session.flush()
    audit.record(session, actor, "card.synced", str(card_id), operation=op.id, value_fen=value_fen,
                 counter=counter, reason=reason[:120])


def flag_card(session: Session, card_id: int, reason: str, actor: str) -> None:
    """A card refused for tampering or rollback: the reason stays on the card for staff, with an audit row. From
    now on every use refuses it (CardFlagged, E4014: `charges.refuse_flagged`, the card station at every tap)
    until a staff repair clears the flag (kiosk.services.card_repair.finish_repair)."""
    card = get_card(session, card_id)
    card.flagged_reason = reason[:200]
    session.flush()
    audit.record(session, actor, "card.flagged", card.card_no, uid=card.uid_hex, reason=reason[:200])


@dataclass(frozen=True)
class CardFacts:
    """What the card's own record must say (for issuing and for checking a tapped card)."""

    card_id: int
    uid_hex: str
    card_no: str
    kind: str  # CardKind
    status: str  # CardStatus
    household_ref: str  # the household's unit number
    issue_seq: int
    flagged_reason: str = ""  # set: the card is refused at every tap until staff repair it
    # the ledger's side read with the tap when the card had nothing open (no pending write, no spend whose payment
    # never settled): what the card must hold, with nothing to resolve first; None: resolve, then read it
    # (kiosk.cards.reconcile.tapped_card)
    ledger: LedgerCardState | None = field(default=None, compare=False)


def card_facts(session: Session, card: Card) -> CardFacts:
    hh = get_household(session, card.household_id)
    return CardFacts(card.id, card.uid_hex, card.card_no, card.kind, card.status, hh.unit_no, card.issue_seq,
                     card.flagged_reason or "")


def pending_card_writes(session: Session, card_id: int) -> tuple[CardWrite, ...]:
    """Writes recorded but never resolved (a crash between record and write): for reconciliation."""
    card = get_card(session, card_id)
    ops = session.scalars(select(CardOperation).where(CardOperation.card_id == card_id,
                                                      CardOperation.status == "pending").order_by(CardOperation.id))
    return tuple(CardWrite(o.id, o.kind, card.id, card.uid_hex, o.old_value_fen, o.new_value_fen, o.old_counter,
                           o.new_counter) for o in ops)


@dataclass(frozen=True)
class LedgerCardState:
    """What the card should hold according to the server: compare with the card on every tap."""

    card_id: int
    counter: int  # new_counter of the last write that was done
    value_fen: int  # stored value on the ledger
    pending: tuple[CardWrite, ...]


def ledger_card_state(session: Session, card_id: int) -> LedgerCardState:
    last = session.scalar(select(func.max(CardOperation.new_counter))
                          .where(CardOperation.card_id == card_id, CardOperation.status == "done"))
    return LedgerCardState(card_id, int(last or 0), card_balance(session, card_id), pending_card_writes(session, card_id))
