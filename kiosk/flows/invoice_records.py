"""Plain records the invoice journeys exchange with the services (kiosk.flows.facade): Kivy-free, frozen, fen."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

PERSONAL, COMPANY = "personal", "company"  # 个人 / 单位 (kiosk.ports.BuyerKind values)
PENDING_STATES = frozenset({"queued", "sending", "issuing", "unknown"})
# what staff pick when reversing an issued invoice (kiosk.invoices.red_letters.parse_reason)
RED_REASONS = ("1", "2", "3", "4")  # 退货, 开票有误, 服务中止, 折让
# a void of a receipt whose invoice is in one of these states files (or will file) a red letter: staff pick its
# reason; "queued" is cancelled outright by the void (the provider never had it), "failed" too
RED_ON_VOID_STATES = frozenset({"sending", "issuing", "unknown", "issued"})


@dataclass(frozen=True)
class InvoiceRecord:
    """One invoice request as a resident or staff sees it; `state_label` is a msgid."""

    request_id: str
    receipt_number: str
    state: str  # kiosk.invoices.states.InvoiceState value
    state_label: str
    buyer_kind: str
    buyer_masked: str
    tax_id_masked: str
    total_fen: int
    invoice_no: str = ""
    qr_payload: str = ""  # what the QR encodes once issued: the PDF's address
    failure_reason: str = ""  # the provider's words when failed
    red_fen: int = 0  # what issued red letters reversed
    created_at: datetime | None = None
    household_id: str = ""  # the household whose saved titles staff may offer when correcting the title

    @property
    def pending(self) -> bool:
        return self.state in PENDING_STATES


@dataclass(frozen=True)
class InvoiceOfferView:
    """Whether the success page offers "开发票" for a receipt, and for how much."""

    receipt_number: str
    invoiceable_fen: int
    existing: InvoiceRecord | None = None
    unavailable: str = ""  # the error code when invoicing is off or refused to start (E9100...), "" when on

    @property
    def can_request(self) -> bool:
        return (not self.unavailable and self.invoiceable_fen > 0
                and (self.existing is None or self.existing.state in ("failed", "cancelled")))


@dataclass(frozen=True)
class SavedTitleView:
    """A title the household used before, masked; reused by its id."""

    title_id: str
    kind: str
    name_masked: str
    tax_id_masked: str = ""


@dataclass(frozen=True)
class TitleFormView:
    """The phone-side title form: `url` drawn as a QR, read back for `expires_in_s` seconds from now."""

    session_id: str
    url: str
    expires_in_s: int


@dataclass(frozen=True)
class TitleView:
    """The title the resident submitted on the phone, already checked (name, GB 32100 check character)."""

    kind: str
    name: str
    tax_id: str = ""


@dataclass(frozen=True)
class InvoiceDeliveryView:
    """An invoice re-sent: where to (masked, e.g. 138****8000) and how many more re-sends the day allows."""

    request_id: str
    address_masked: str
    left_today: int
