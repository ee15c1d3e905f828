"""View records of the staff card repair: the flagged list, a tapped card next to the ledger, the repair's result."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class FlaggedCardView:
    """A card refused for tampering (E4005) or rollback (E4006), waiting for staff."""

    card_uid: str
    card_no: str
    kind: str  # kiosk.domain.terms.CardKind value: resident / smart / vehicle
    unit_masked: str
    reason: str  # error code + detail, e.g. "E4006 card counter 0 is behind the ledger's 1"
    flagged_at: datetime | None


@dataclass(frozen=True)
class CardCheckView:
    """What the card on the reader says and what the ledger says, before staff confirm a rewrite."""

    card_uid: str
    card_no: str
    kind: str
    unit_masked: str
    flag_reason: str  # empty: not flagged
    card_readable: bool  # the card's blocks decode as a card of this kiosk
    card_value_fen: int | None  # None: the value block does not decode
    card_counter: int | None
    mac_ok: bool
    record_matches: bool  # card number, kind, unit and issue sequence are the ledger's
    ledger_value_fen: int
    ledger_counter: int
    pending_writes: int  # open writes the repair resolves as the ledger says
    repair_pending: bool  # an earlier repair of this card was cut short
    needs_repair: bool  # False: the card agrees with the ledger and is not flagged


@dataclass(frozen=True)
class CardRepairResult:
    card_uid: str
    card_no: str
    balance_fen: int  # what the card now holds = the ledger's balance
    old_value_fen: int
    new_value_fen: int
    old_counter: int
    new_counter: int
    flag_reason: str
    resolved_writes: int
