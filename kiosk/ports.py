"""Protocols the core needs from hardware and outside services; devices/ implements them."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
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
    # False: the printer could not be reached at all (its port vanished, the connection is refused), not
    # merely "not ready"; whoever polls it tells the DeviceSupervisor, which closes and reopens it.
    reachable: bool = True

    @property
    def ready(self) -> bool:
        return self.online and not self.cover_open and self.paper in (PaperState.OK, PaperState.NEAR_END)


@runtime_checkable
class ReceiptPrinter(Protocol):
    """Prints receipt documents; never loses a job silently. `print_receipt` raises PrinterNotReady when
    nothing was sent (the printer cannot print), PrintInterrupted when the job was sent and the printer then
    stopped, DeviceUnavailable when the connection failed (the job may or may not have reached the paper)."""

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



@dataclass(frozen=True)
class BillRow:
    """One line of a network's daily trade bill (WeChat Pay 交易账单, Alipay 业务明细), amounts in integer fen."""

    at: str  # 交易时间 / 完成时间, China time, as printed
    out_trade_no: str
    transaction_id: str
    state: str  # SUCCESS (a payment) or REFUND (a refund)
    amount_fen: int  # the payment's amount (SUCCESS) or the refund's (REFUND)
    out_refund_no: str = ""


@runtime_checkable
class TradeBillSource(Protocol):
    """A gateway that can download its day's trade bill (the wechatpay and alipay drivers; not the sandbox)."""

    name: str

    def trade_bill(self, day: date) -> list[BillRow]: ...

# --- e-invoice provider (数电发票) ----------------------------------------------------------------
# The kiosk's side of a tax provider (Nuonuo 诺税通 and the like; devices/invoicing/ implements it).
# Amounts are integer fen; an order number is made and stored on the kiosk BEFORE it is sent, and a
# timeout is resolved by `query(order_no)`, never by a new number. docs/invoices.md, "The provider".
ORDER_NO_MAX = 20
TAX_CODE_LENGTH = 19
INVOICE_NO_LENGTH = 20


class BuyerKind(StrEnum):
    PERSONAL = "personal"  # 个人: a name only
    COMPANY = "company"  # 单位: title (抬头) + 18-character unified social credit code


class TaxPolicy(StrEnum):
    """A line's preferential-policy flag (优惠政策标识) as the tax table states it."""

    NONE = "none"
    NOT_TAXABLE = "not_taxable"  # 不征税 (e.g. prepaid card top-up): rate 0
    EXEMPT = "exempt"  # 免税: rate 0
    SIMPLIFIED = "simplified"  # 简易征收 (e.g. parking 5 %, water 3 %)


class RedLetterReason(StrEnum):
    """Why an issued invoice is reversed (红冲原因); the number is the one staff type and the bureau uses."""

    RETURN = "1"  # 销货退回 (退货)
    WRONG = "2"  # 开票有误
    SERVICE_STOPPED = "3"  # 服务中止
    DISCOUNT = "4"  # 销售折让


class InvoiceStatus(StrEnum):
    ACCEPTED = "accepted"  # the provider took the order; the result comes later (query)
    DUPLICATE = "duplicate"  # the order number was sent before: query it, never mint a new one
    ISSUING = "issuing"  # 开票中 (Nuonuo 20)
    ISSUED = "issued"  # 开票完成 (Nuonuo 2): number, QR payload and PDF URL
    FAILED = "failed"  # 开票失败 (Nuonuo 22): `reason` says why; correct and send a NEW order
    SEAL_FAILED = "seal_failed"  # 签章失败 (Nuonuo 24): `reissue(order_no)`, at most 20 times a day
    NOT_FOUND = "not_found"  # the provider does not list this order number (never got it, or got it moments
    # ago and has not listed it yet): sending it again is safe, a DUPLICATE answer says it had arrived


def _check_order_no(order_no: str) -> None:
    if not order_no or len(order_no) > ORDER_NO_MAX or not order_no.isascii() \
            or not order_no.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"order number must be 1-{ORDER_NO_MAX} ASCII letters, digits, - or _, got {order_no!r}")


def _check_fen(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be integer fen, got {value!r}")


@dataclass(frozen=True)
class InvoiceBuyer:
    """Who the invoice is made out to. `name` is the personal name or the company title; `tax_id` the
    company's unified social credit code (GB 32100, see kiosk.domain.credit_code), empty for a person.
    `phone` / `email` ask the provider to push the issued invoice (SMS / e-mail) when set."""

    kind: BuyerKind
    name: str
    tax_id: str = ""
    phone: str = ""
    email: str = ""

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("buyer name is empty")
        if self.kind is BuyerKind.COMPANY and len(self.tax_id) != 18:
            raise ValueError(f"a company buyer needs an 18-character tax id, got {self.tax_id!r}")
        if self.kind is BuyerKind.PERSONAL and self.tax_id:
            raise ValueError("a personal buyer has no tax id")


@dataclass(frozen=True)
class InvoiceLine:
    """One line of an invoice, as the tax table and the receipt line make it.

    `rate_permille` is the VAT rate in thousandths (60 = 6 %, 90 = 9 %, 130 = 13 %, 15 = 1.5 %, 0 for
    不征税/免税). Amounts are integer fen: `tax_excluded_fen + tax_fen == tax_included_fen` exactly, and
    the provider also wants `tax_fen` within 6 fen of `tax_excluded_fen * rate` (checked there, so our
    arithmetic errors fail in tests). Red-letter lines carry the amounts to reverse as POSITIVE numbers.
    """

    fee_kind: str  # our fee kind (the tax table's key), e.g. "management"
    goods_name: str  # 商品名称 as the tax table states it, e.g. "物业管理服务"
    tax_code: str  # 税收分类编码, 19 digits
    rate_permille: int
    policy: TaxPolicy
    quantity: int
    tax_included_fen: int
    tax_excluded_fen: int
    tax_fen: int

    def __post_init__(self) -> None:
        for name in ("rate_permille", "quantity", "tax_included_fen", "tax_excluded_fen", "tax_fen"):
            _check_fen(name, getattr(self, name))
        if len(self.tax_code) != TAX_CODE_LENGTH or not self.tax_code.isdigit():
            raise ValueError(f"tax classification code must be {TAX_CODE_LENGTH} digits, got {self.tax_code!r}")
        if not 0 <= self.rate_permille < 1000:
            raise ValueError(f"rate out of range: {self.rate_permille} permille")
        if self.quantity < 1:
            raise ValueError(f"quantity must be at least 1, got {self.quantity}")
        if self.tax_included_fen <= 0 or self.tax_excluded_fen < 0 or self.tax_fen < 0:
            raise ValueError("line amounts must be positive")
        if self.tax_excluded_fen + self.tax_fen != self.tax_included_fen:
            raise ValueError(f"tax-excluded {self.tax_excluded_fen} + tax {self.tax_fen} != "
                             f"tax-included {self.tax_included_fen} (fen)")
        if not self.goods_name.strip():
            raise ValueError("goods name is empty")


@dataclass(frozen=True)
class InvoiceOrder:
    """A blue invoice to be issued: our order number (unique per enterprise, <= 20 characters), the buyer,
    the lines in receipt order, and when the money was received (the order's date)."""

    order_no: str
    buyer: InvoiceBuyer
    lines: tuple[InvoiceLine, ...]
    ordered_at: datetime
    remark: str = ""  # printed on the invoice (备注), e.g. the receipt number

    def __post_init__(self) -> None:
        _check_order_no(self.order_no)
        if not self.lines:
            raise ValueError("an invoice needs at least one line")

    @property
    def total_fen(self) -> int:
        return sum(line.tax_included_fen for line in self.lines)


@dataclass(frozen=True)
class RedLetterRequest:
    """Reverse (part of) an issued invoice with a red-letter invoice (红字确认单 + 快捷红冲).

    `order_no` is a NEW order number for the red invoice (made and stored before sending, like a blue
    one); its result is read with `query(order_no)`. `lines` empty reverses the whole invoice; otherwise
    they are the original lines to reverse, in the original order, amounts positive."""

    order_no: str
    original_invoice_no: str
    original_order_no: str
    reason: RedLetterReason
    lines: tuple[InvoiceLine, ...] = ()

    def __post_init__(self) -> None:
        _check_order_no(self.order_no)
        _check_order_no(self.original_order_no)
        if len(self.original_invoice_no) != INVOICE_NO_LENGTH or not self.original_invoice_no.isdigit():
            raise ValueError(f"invoice number must be {INVOICE_NO_LENGTH} digits, got {self.original_invoice_no!r}")


@dataclass(frozen=True)
class InvoiceResult:
    """The provider's answer about one order number (blue or red).

    ISSUED carries the 20-digit `invoice_no`, `qr_payload` (what the resident's QR encodes) and `pdf_url`;
    FAILED and SEAL_FAILED carry the provider's `reason`; `serial_no` is the provider's own id for the
    request (发票请求流水号) once it has one. `red` is true for a red-letter invoice."""

    order_no: str
    status: InvoiceStatus
    serial_no: str = ""
    invoice_no: str = ""
    qr_payload: str = ""
    pdf_url: str = ""
    issued_at: datetime | None = None
    total_fen: int = 0  # tax-included total as the provider states it (negative on a red invoice)
    reason: str = ""
    red: bool = False

    def __post_init__(self) -> None:
        _check_fen("total_fen", self.total_fen)
        if self.status is InvoiceStatus.ISSUED:
            if len(self.invoice_no) != INVOICE_NO_LENGTH or not self.invoice_no.isdigit():
                raise ValueError(f"an issued invoice needs a {INVOICE_NO_LENGTH}-digit number, got {self.invoice_no!r}")
            if not self.qr_payload or not self.pdf_url:
                raise ValueError("an issued invoice needs its QR payload and PDF URL")

    @property
    def final(self) -> bool:
        """No further answer will come without our action (FAILED needs a new order, SEAL_FAILED a reissue)."""
        return self.status in (InvoiceStatus.ISSUED, InvoiceStatus.FAILED, InvoiceStatus.SEAL_FAILED,
                               InvoiceStatus.NOT_FOUND)


@dataclass(frozen=True)
class TitleForm:
    """A phone-side title form (扫码填抬头): the kiosk shows `url` as a QR and reads the title back with
    `read_title(session_id)` until `expires_at`."""

    session_id: str
    url: str
    expires_at: datetime


@dataclass(frozen=True)
class AccessToken:
    """A provider's access token as kept between runs: the token, when it expires (Unix seconds) and when
    tokens were obtained, newest last (providers ration them: Nuonuo gives 50 per 30 days)."""

    token: str
    expires_at: float
    obtained: tuple[float, ...] = ()


@runtime_checkable
class AccessTokenStore(Protocol):
    """Where an adapter keeps its access token (a file in the data dir, or the shared database so that
    every kiosk of an estate uses one). `refreshing()` is held, across processes, while one is fetched."""

    def load(self) -> AccessToken | None: ...
    def save(self, token: AccessToken) -> None: ...
    def refreshing(self) -> AbstractContextManager[None]: ...


@runtime_checkable
class InvoiceProvider(Protocol):
    """A tax provider that issues fully digital invoices asynchronously.

    Errors (kiosk.errors): InvoiceProviderUnreachable when there is no usable answer (down, timeout,
    garbled; what was sent is unknown until `query`), InvoiceSignatureRejected when the provider refuses
    our credentials, InvoiceRateLimited when its limits are hit (token budget included), InvoiceRejected
    when it refuses the order itself (the provider's reason and code in `params`)."""

    name: str

    def request_invoice(self, order: InvoiceOrder) -> InvoiceResult: ...  # ACCEPTED or DUPLICATE
    def query(self, order_no: str) -> InvoiceResult: ...  # any status but ACCEPTED / DUPLICATE
    def reissue(self, order_no: str) -> InvoiceResult: ...  # after SEAL_FAILED: ACCEPTED (or rejected)
    def red_letter(self, request: RedLetterRequest) -> InvoiceResult: ...  # ACCEPTED or DUPLICATE
    def open_title_form(self, expires_in_s: int) -> TitleForm: ...
    def read_title(self, session_id: str) -> InvoiceBuyer | None: ...  # None until the resident submits
    # push an ISSUED invoice again by SMS (`phone`) and/or e-mail (`email`), at least one; raises
    # InvoicePhoneInvalid / InvoiceEmailInvalid when the provider refuses the address
    def deliver(self, invoice_no: str, *, phone: str = "", email: str = "") -> None: ...
