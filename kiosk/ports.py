"""Protocols the core needs from hardware and outside services; devices/ implements them."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from kiosk.domain.receipt import ReceiptDocument


# --- IC card reader ----------------------------------------------------------------------------
class KeyType(StrEnum):
    A = "A"
    B = "B"


@dataclass(frozen=True)
class CardUid:
    """A card's UID: 4 bytes (single size) or 7 bytes (double size)."""

    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) not in (4, 7, 10):
            raise ValueError(f"UID must be 4, 7 or 10 bytes, got {len(self.raw)}")

    @property
    def hex(self) -> str:
        return self.raw.hex().upper()

    @property
    def auth_bytes(self) -> bytes:
        """The four bytes MIFARE Classic authentication uses (the last four of a 7-byte UID)."""
        return self.raw[-4:] if len(self.raw) > 4 else self.raw

    @classmethod
    def from_hex(cls, text: str) -> CardUid:
        return cls(bytes.fromhex(text.replace(":", "").replace(" ", "")))


@dataclass(frozen=True)
class Tag:
    """A card selected by the reader."""

    uid: CardUid
    atqa: int = 0x0004
    sak: int = 0x08


@runtime_checkable
class CardReader(Protocol):
    """A reader that finds one card at a time and, when `can_write`, talks MIFARE Classic to it.

    Errors: CardRemoved when the card leaves mid-operation, CardAuthFailed on a wrong key,
    DeviceUnavailable when the port is gone, DeviceTimeout / ProtocolError on the wire,
    CardWriteUnsupported from MIFARE operations on an identification-only reader.
    """

    name: str
    can_write: bool

    def open(self) -> None: ...
    def close(self) -> None: ...
    def firmware_version(self) -> str: ...
    def poll(self, timeout: float) -> Tag | None: ...
    def release(self) -> None: ...
    def authenticate(self, block: int, key_type: KeyType, key: bytes) -> None: ...
    def read_block(self, block: int) -> bytes: ...
    def write_block(self, block: int, data: bytes) -> None: ...
    def increment(self, block: int, amount: int) -> None: ...
    def decrement(self, block: int, amount: int) -> None: ...
    def restore(self, block: int) -> None: ...
    def transfer(self, block: int) -> None: ...


# --- receipt printer ---------------------------------------------------------------------------
class PaperState(StrEnum):
    OK = "ok"
    NEAR_END = "near_end"
    OUT = "out"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class PrinterStatus:
    online: bool
    paper: PaperState
    cover_open: bool = False
    reason: str = ""  # offline / error cause in plain words, for staff

    @property
    def ready(self) -> bool:
        return self.online and not self.cover_open and self.paper in (PaperState.OK, PaperState.NEAR_END)


@runtime_checkable
class ReceiptPrinter(Protocol):
    """Prints receipt documents. Raises PrinterNotReady or DeviceUnavailable; never loses a job silently."""

    name: str

    def open(self) -> None: ...
    def close(self) -> None: ...
    def status(self) -> PrinterStatus: ...
    def print_receipt(self, receipt: ReceiptDocument) -> None: ...


# --- banknote acceptor -------------------------------------------------------------------------
class CashEventKind(StrEnum):
    ESCROW = "escrow"  # a note is held and can still be returned
    STACKED = "stacked"  # a note is credited: money has arrived
    RETURNED = "returned"
    REJECTED = "rejected"
    JAM = "jam"
    STACKER_FULL = "stacker_full"
    STACKER_REMOVED = "stacker_removed"
    STACKER_REPLACED = "stacker_replaced"
    FRAUD = "fraud"
    RESET = "reset"  # the device powered up or was reset (event counter 0)
    ERROR = "error"


@dataclass(frozen=True)
class CashEvent:
    kind: CashEventKind
    counter: int  # the device's event counter for this event (1..255), 0 for a reset
    value_fen: int = 0
    bill_type: int = 0
    detail: str = ""


@runtime_checkable
class CashAcceptor(Protocol):
    """A banknote validator with escrow. Gives no change."""

    name: str

    def open(self) -> None: ...
    def close(self) -> None: ...
    def identify(self) -> Mapping[str, str]: ...
    def bill_values(self) -> Mapping[int, int]: ...  # bill type -> value in fen
    def enable(self, values_fen: Iterable[int]) -> None: ...
    def disable(self) -> None: ...
    def poll(self) -> list[CashEvent]: ...
    def events_since(self, last_counter: int) -> list[CashEvent]: ...  # for recovery at start-up
    def stack_escrow(self) -> None: ...
    def return_escrow(self) -> None: ...


# --- QR payment gateway ------------------------------------------------------------------------
class OrderState(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    CLOSED = "closed"
    EXPIRED = "expired"
    REFUNDED = "refunded"


@dataclass(frozen=True)
class GatewayOrder:
    order_id: str
    amount_fen: int
    state: OrderState
    code_url: str = ""
    gateway_txn: str = ""
    paid_at: datetime | None = None


@dataclass(frozen=True)
class GatewayNotification:
    order_id: str
    state: OrderState
    amount_fen: int
    gateway_txn: str
    extra: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class PaymentGateway(Protocol):
    """A scan-to-pay gateway. Raises GatewayError when unreachable, BadSignature on forged notices."""

    name: str

    def create_order(self, order_id: str, amount_fen: int, description: str, expires_in_s: int) -> GatewayOrder: ...
    def query(self, order_id: str) -> GatewayOrder: ...
    def close(self, order_id: str) -> GatewayOrder: ...
    def refund(self, order_id: str, refund_id: str, amount_fen: int) -> None: ...
    def verify_notification(self, body: bytes, headers: Mapping[str, str]) -> GatewayNotification: ...
