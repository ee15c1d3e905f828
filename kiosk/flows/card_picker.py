"""The card picker: which of the household's cards a journey acts on, and the words that describe a card.

Rule (docs/ui.md "Card picker"): a card the resident TAPPED to sign in is the card every journey acts on; after a
unit number + PIN sign-in a journey that acts on a card shows the household's cards as large buttons (kind, last
digits, plate of a vehicle card, state in words, balance) and the resident picks one; a household with one card
goes straight on with it.
"""
from __future__ import annotations

from kiosk.flows.records import CARD_KIND_LABELS, CARD_STATUS_LABELS, CardStatus, CardView, HouseholdSummary, Identity
from kiosk.i18n import N_, format_money, translate

PICK_STEP = "pick_card"
PICK_PROMPT = N_("Which card? Please choose")


class MustPick:
    """The resident must choose among several cards."""


MUST_PICK = MustPick()


def preselected(summary: HouseholdSummary, identity: Identity | None) -> CardView | None | MustPick:
    """The tapped card, else the only card, else MUST_PICK (None: the household has no card, or the tapped
    card is no longer one of its cards)."""
    if identity is not None and identity.card_uid:
        return summary.card(identity.card_uid)
    if len(summary.cards) <= 1:
        return summary.cards[0] if summary.cards else None
    return MUST_PICK


def state_words(card: CardView, language: str) -> str:
    if card.status is CardStatus.FROZEN and card.frozen_by_staff:
        return translate(N_("Frozen by staff"), language)
    return translate(CARD_STATUS_LABELS[card.status], language)


def card_name(card: CardView, language: str) -> str:
    """'Resident card, ending C3D4' (and the plate of a vehicle card): how a card is named on every page."""
    name = translate(N_("{kind}, ending {digits}"), language, kind=translate(CARD_KIND_LABELS[card.kind], language),
                     digits=card.last_digits)
    return f"{name}  {card.plate}" if card.plate else name


def card_button(card: CardView, language: str) -> str:
    """Two lines for a large button: the card's name, then its state in words and its balance."""
    balance = translate(N_("Balance {amount}"), language, amount=format_money(card.balance_fen, language))
    return f"{card_name(card, language)}\n{state_words(card, language)} · {balance}"
