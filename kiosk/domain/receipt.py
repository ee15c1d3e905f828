"""The receipt document: what a receipt says, already in the customer's language; printers lay it out."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum


class ReceiptKind(StrEnum):
    BILL_PAYMENT = "bill_payment"
    TOP_UP = "top_up"
    CARD_LOSS = "card_loss"
    CARD_UNFREEZE = "card_unfreeze"
    CARD_REPLACEMENT = "card_replacement"
    BOOKING = "booking"
    PARKING = "parking"
    DIRECT_DEBIT = "direct_debit"
    CALLBACK = "callback"
    VOID = "void"
    SHIFT_HANDOVER = "shift_handover"
    SETTLEMENT = "settlement"
    TEST = "test"


@dataclass(frozen=True)
class ReceiptItem:
    label: str  # e.g. "物业管理费 2026-10"
    amount_fen: int
    detail: str = ""  # e.g. period, quantity, bill reference


@dataclass(frozen=True)
class ReceiptDocument:
    """Everything a receipt shows. Strings are already translated; amounts are fen."""

    kind: ReceiptKind
    number: str
    site_name: str
    kiosk_id: str
    issued_at: datetime
    language: str
    title: str
    household: str = ""  # masked, e.g. "2栋-**03"
    items: tuple[ReceiptItem, ...] = ()
    total_fen: int | None = None
    total_label: str = ""
    payment_method: str = ""
    fields: tuple[tuple[str, str], ...] = ()  # label/value rows: ticket number, balance before/after ...
    notes: tuple[str, ...] = ()
    qr_url: str = ""
    closing: str = ""
    labels: dict[str, str] = field(default_factory=dict)  # translated captions: "number", "time", "kiosk" ...

    def to_json(self) -> str:
        data = asdict(self)
        data["issued_at"] = self.issued_at.isoformat()
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ReceiptDocument:
        data = json.loads(text)
        data["kind"] = ReceiptKind(data["kind"])
        data["issued_at"] = datetime.fromisoformat(data["issued_at"])
        data["items"] = tuple(ReceiptItem(**item) for item in data["items"])
        data["fields"] = tuple(tuple(pair) for pair in data["fields"])
        data["notes"] = tuple(data["notes"])
        return cls(**data)
