"""The household's cards as the flows see them: one card on the picker, a found card unblocked, staff's list."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from kiosk.domain.terms import CardKind, CardStatus

if TYPE_CHECKING:
    from kiosk.flows.records import CardActionResult, Identity


@dataclass(frozen=True)
class CardView:
    """One card of the household as the resident sees it on the card picker (ledger balance)."""

    card_uid: str
    kind: CardKind
    status: CardStatus
    balance_fen: int
    plate: str = ""  # vehicle IC cards: the plate of the car
    frozen_by_staff: bool = False  # a staff freeze is lifted by staff only
    card_no: str = ""  # the number printed on the card

    @property
    def last_digits(self) -> str:
        """The last four digits of the printed card number (what the resident reads on the card), else of the UID."""
        digits = "".join(ch for ch in self.card_no if ch.isdigit())
        return digits[-4:] if len(digits) >= 4 else self.card_uid[-4:]

    @property
    def usable(self) -> bool:
        return self.status is CardStatus.ACTIVE


@dataclass(frozen=True)
class UnblockResult:
    """A found card tapped with the household PIN: usable again, and the resident signed in with it."""

    identity: Identity
    action: CardActionResult


@dataclass(frozen=True)
class StaffCardsView:
    """Every card of one household for staff (replaced cards included), found by a tapped card or a unit number."""

    household_id: str
    unit: str
    cards: tuple[CardView, ...]
    pin_failed: int = 0  # wrong household PINs in a row (the one lock-out of the unit + PIN and found-card pads)
    pin_locked_until: datetime | None = None  # set while the household's PIN is locked out

    @property
    def pin_lockout(self) -> bool:
        """Anything for staff to clear: a lock-out, or wrong PINs counted toward one."""
        return self.pin_failed > 0 or self.pin_locked_until is not None
