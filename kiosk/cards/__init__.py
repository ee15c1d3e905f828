"""The IC card application (Kivy-free): layout, keys, issuance, verified reads and writes on MIFARE Classic 1K."""
from __future__ import annotations

from kiosk.cards.application import CardApplication, WriteState, check_against_ledger
from kiosk.cards.layout import CardImage, CardKind, CardRecord

__all__ = ["CardApplication", "CardImage", "CardKind", "CardRecord", "WriteState", "check_against_ledger"]
