"""Plain frozen view records exchanged between flows and KioskServices (integer fen, no ORM objects)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from enum import StrEnum

from kiosk.domain.site_clock import to_site
from kiosk.domain.terms import CARD_KIND_LABELS, CARD_STATUS_LABELS, CardKind, CardStatus, FeeKind, StaffRole  # noqa: F401
from kiosk.domain.terms import SiteFeature
from kiosk.flows.card_records import CardView, StaffCardsView, UnblockResult  # noqa: F401 - one place to import
from kiosk.i18n import N_

# One vocabulary with the core (kiosk.domain.terms): card states, staff roles and fee kinds ARE the core
# enums; the flows' PaymentMethod lists only what a person can choose, with the core's values.
BillKind = FeeKind
Feature = SiteFeature  # what a site offers; config, staff switches, hours and device faults switch them off


FEATURE_LABELS: dict[Feature, str] = {
    Feature.NOTICES: N_("Notices"),
    Feature.DIRECTORY: N_("Phone directory"),
    Feature.MEMBER_EVENTS: N_("Member events"),
    Feature.CALLBACK: N_("Request a callback"),
    Feature.PAY_FEES: N_("Pay fees"),
    Feature.TOP_UP: N_("Top up card"),
    Feature.CARD_LOSS: N_("Card loss and replacement"),
    Feature.BOOKINGS: N_("Service bookings"),
    Feature.PARKING: N_("Parking"),
    Feature.DIRECT_DEBIT: N_("Direct debit"),
    Feature.RECORDS: N_("My records"),
}


class PaymentMethod(StrEnum):
    """The methods a person picks on screen; values equal kiosk.domain.terms.PaymentMethod's. CREDIT (the
    household's account credit) pays alone when it covers the total; otherwise a paying call takes
    `credit_fen` (the credit part) with one of the others for the rest (split tender)."""

    CARD_BALANCE = "card"
    CASH = "cash"
    QR = "qr"
    CREDIT = "credit"


PAYMENT_METHOD_LABELS: dict[PaymentMethod, str] = {
    PaymentMethod.CARD_BALANCE: N_("Card balance"),
    PaymentMethod.CASH: N_("Cash"),
    PaymentMethod.QR: N_("Scan to pay"),
    PaymentMethod.CREDIT: N_("Account credit"),
}
# The methods that bring money of their own (what pays the rest of a split payment).
MONEY_METHODS = (PaymentMethod.CARD_BALANCE, PaymentMethod.CASH, PaymentMethod.QR)


BILL_KIND_LABELS: dict[FeeKind, str] = {
    BillKind.MANAGEMENT: N_("Property management fee"),
    BillKind.WATER: N_("Water"),
    BillKind.ELECTRICITY: N_("Electricity"),
    BillKind.GAS: N_("Gas"),
    BillKind.RENT: N_("Rent"),
    BillKind.PARKING: N_("Parking rent"),
    BillKind.PERMIT: N_("Certificate fee"),
    BillKind.SERVICE: N_("Paid service"),
    BillKind.CARD_FEE: N_("Card replacement fee"),
    BillKind.BOOKING: N_("Service bookings"),
}


class DeviceState(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"


@dataclass(frozen=True)
class OpeningHours:
    """Open interval for one weekday (0 = Monday); close <= open means closed all day."""

    weekday: int
    opens: time
    closes: time


@dataclass(frozen=True)
class SiteInfo:
    site_id: str
    kiosk_id: str
    names: dict[str, str]  # language -> site name
    hours: tuple[OpeningHours, ...]
    features: frozenset[Feature]
    out_of_hours_features: frozenset[Feature] = frozenset({Feature.NOTICES})
    card_replacement_fee_fen: int = 2000
    top_up_amounts_fen: tuple[int, ...] = (5000, 10000, 20000, 50000)

    def name(self, language: str) -> str:
        return self.names.get(language) or next(iter(self.names.values()), "")

    def is_open(self, now: datetime) -> bool:
        """True when `now`, on the site's wall clock (kiosk.domain.site_clock), falls in the hours of its weekday."""
        local = to_site(now)
        for slot in self.hours:
            if slot.weekday == local.weekday() and slot.opens <= local.time() < slot.closes:
                return True
        return False

    def available_features(self, now: datetime) -> frozenset[Feature]:
        return self.features if self.is_open(now) else self.features & self.out_of_hours_features


NOTICE_CATEGORY_LABELS: dict[str, str] = {  # the categories kiosk.services.notices accepts
    "general": N_("General notice"),
    "maintenance": N_("Repairs and maintenance"),
    "fees": N_("Fees and charges"),
    "safety": N_("Safety"),
    "event": N_("Community events"),
    "member": N_("Member offers"),
}


@dataclass(frozen=True)
class NoticeView:
    notice_id: str
    category: str
    title: str
    body: str
    posted_at: datetime
    expires_at: datetime | None
    pinned: bool = False


@dataclass(frozen=True)
class Identity:
    """Who is at the kiosk after a card tap or unit + PIN."""

    household_id: str
    unit_label: str  # masked for the screen, e.g. "2栋-**03"
    tier: str = "ordinary"
    card_uid: str | None = None  # hex, when identified by card
    card_status: CardStatus | None = None


@dataclass(frozen=True)
class BillView:
    bill_id: str
    kind: BillKind
    period: str  # e.g. "2026-10"
    amount_fen: int
    due_date: date


@dataclass(frozen=True)
class HouseholdSummary:
    """The household and its cards. `card_uid`, `card_balance_fen` and `card_status` describe THE card the
    current journey acts on: the tapped card, the one the resident picked, or the household's only card
    (`acting_on`); None while no card is chosen (several cards after a unit + PIN sign-in)."""

    household_id: str
    unit_label: str
    tier: str
    bills: tuple[BillView, ...]
    card_uid: str | None = None
    card_balance_fen: int | None = None
    card_status: CardStatus | None = None
    credit_fen: int = 0  # the household's account credit (banknote overpayments, refunds): pays, or moves to a card
    cards: tuple[CardView, ...] = ()  # every card of the household that is not replaced, oldest first

    @property
    def total_due_fen(self) -> int:
        return sum(b.amount_fen for b in self.bills)

    def card(self, card_uid: str | None) -> CardView | None:
        uid = (card_uid or "").upper()
        return next((c for c in self.cards if c.card_uid.upper() == uid), None) if uid else None

    @property
    def acting_card(self) -> CardView | None:
        return self.card(self.card_uid)

    def acting_on(self, card: CardView | str | None) -> HouseholdSummary:
        """The same summary, acting on `card` (a card of this household, or None for no card)."""
        view = self.card(card) if isinstance(card, str) else card
        if view is None:
            return replace(self, card_uid=None, card_balance_fen=None, card_status=None)
        return replace(self, card_uid=view.card_uid, card_balance_fen=view.balance_fen, card_status=view.status)


@dataclass(frozen=True)
class PaymentResult:
    payment_id: str
    receipt_number: str
    amount_fen: int
    method: PaymentMethod
    bill_ids: tuple[str, ...]
    balance_after_fen: int | None = None
    credit_fen: int = 0  # cash overpayment kept as account credit
    credit_used_fen: int = 0  # the part paid from account credit (all of it with the credit method)


@dataclass(frozen=True)
class TopUpResult:
    receipt_number: str
    balance_before_fen: int
    balance_after_fen: int


@dataclass(frozen=True)
class CardActionResult:
    card_uid: str
    status: CardStatus
    receipt_number: str = ""
    fee_fen: int = 0
    balance_fen: int | None = None


@dataclass(frozen=True)
class BookingOption:
    kind: str  # phone, tv, broadband, alarm, intercom, gas
    fee_fen: int


@dataclass(frozen=True)
class BookingSlot:
    slot_id: str
    kind: str
    starts_at: datetime
    ends_at: datetime
    available: bool = True
    places_left: int | None = None  # None: not known (the row then says nothing about places)
    period: str = ""  # "am" / "pm": the half-day the visit falls in (empty: from starts_at)


@dataclass(frozen=True)
class BookingResult:
    ticket_number: str
    receipt_number: str
    slot: BookingSlot


@dataclass(frozen=True)
class ParkingSpaceView:
    space_id: str
    label: str
    state: str  # owned / rented / free
    monthly_rent_fen: int
    price_fen: int = 0
    paid_until: date | None = None


@dataclass(frozen=True)
class ParkingResult:
    reference: str
    receipt_number: str = ""
    amount_fen: int = 0


@dataclass(frozen=True)
class BankOption:
    bank_code: str
    name: str


@dataclass(frozen=True)
class MandateResult:
    reference: str
    bank_code: str
    masked_account: str


@dataclass(frozen=True)
class CardMovement:
    """Value onto (positive) or off (negative) one of the household's cards, with its balance after."""

    card_kind: str  # CardKind value
    card_tail: str  # last digits of the card number
    change_fen: int
    balance_after_fen: int

    @property
    def balance_before_fen(self) -> int:
        return self.balance_after_fen - self.change_fen


@dataclass(frozen=True)
class RecordItem:
    label: str  # already in the resident's language (or as the receipt printed it)
    amount_fen: int
    detail: str = ""  # period, slot ...


@dataclass(frozen=True)
class RecordEntry:
    """One row of My records: a receipt (what was paid, and the card movement it made) or a card movement alone."""

    record_id: str
    when: datetime
    kind: str  # receipt kind (bill_payment, top_up ...) or card_opening / card_<entry kind>
    items: tuple[RecordItem, ...]
    amount_fen: int
    receipt_number: str = ""
    voided: bool = False
    card_moves: tuple[CardMovement, ...] = ()


@dataclass(frozen=True)
class RecordsPage:
    entries: tuple[RecordEntry, ...]
    offset: int
    limit: int
    total: int

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.entries) < self.total


@dataclass(frozen=True)
class RecordDetail:
    """Every line of one record: the receipt as printed (title, items, method, fields) and the card movement."""

    entry: RecordEntry
    title: str = ""
    method: str = ""
    fields: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()
    reprint_count: int = 0


@dataclass(frozen=True)
class DirectoryEntry:
    name: str
    phone: str
    category: str = ""  # the kind of number: service, repairs, security, parking, clinic, gas (its icon)
    hours: str = ""  # when it answers: "08:00-20:00", "24h" (all day), "" (not said)


@dataclass(frozen=True)
class MemberEventView:
    event_id: str
    title: str
    starts_at: datetime
    place: str
    seats_left: int
    description: str = ""
    audience_tier: str | None = None  # who may join: None every household, else members of that tier
    ends_at: datetime | None = None


@dataclass(frozen=True)
class StaffView:
    staff_id: str
    name: str
    role: StaffRole


@dataclass(frozen=True)
class SettlementView:
    day: date
    totals_by_kind: tuple[tuple[str, int], ...]
    totals_by_method: tuple[tuple[str, int], ...]
    first_receipt: str
    last_receipt: str
    void_count: int
    void_total_fen: int
    csv_text: str = ""
    credit_created: tuple[tuple[str, int], ...] = ()  # account credit created, by source (cash, qr, refund, void)
    credit_used: tuple[tuple[str, int], ...] = ()  # account credit used, by what it went with (credit, card, cash, qr)

    @property
    def total_fen(self) -> int:
        return sum(v for _, v in self.totals_by_method)


@dataclass(frozen=True)
class HandoverView:
    shift_id: str
    expected_cash_fen: int
    counted_cash_fen: int
    receipt_number: str
    credit_created_fen: int = 0  # account credit created during the shift
    credit_used_fen: int = 0  # account credit used during the shift

    @property
    def difference_fen(self) -> int:
        return self.counted_cash_fen - self.expected_cash_fen


@dataclass(frozen=True)
class VoidResult:
    receipt_number: str
    void_receipt_number: str
    notice: str = ""  # a msgid for the clerk: a QR void's refund at the gateway pending (E6314) or refused (E6313)


@dataclass(frozen=True)
class NoticeDraft:
    category: str
    titles: dict[str, str]  # language -> title
    bodies: dict[str, str]
    publish_at: datetime
    expires_at: datetime | None = None
    pinned: bool = False
    tiers: frozenset[str] = frozenset()  # empty: everyone
    notice_id: str = ""  # empty when new
    withdrawn_at: datetime | None = None  # set once staff withdrew it (it stays listed for staff)


@dataclass(frozen=True)
class CallbackView:
    callback_id: str
    phone_masked: str
    topic: str
    created_at: datetime
    done: bool = False


@dataclass(frozen=True)
class DeviceHealth:
    device: str  # reader / printer / cash / gateway
    state: DeviceState
    detail: str = ""
    reopen_attempt: int = 0  # a device that is down: the number of its next reopen attempt (kiosk.runtime.supervisor)
    next_retry_s: float | None = None  # and the delay before it


# Which features need which device to be up (used to switch single features off).
FEATURE_DEVICES: dict[Feature, tuple[str, ...]] = {
    Feature.TOP_UP: ("reader",),
    Feature.CARD_LOSS: ("reader",),
}
# While the estate database is gone ("database" down, kiosk.app_runtime.offline) only these work, from the local copy.
OFFLINE_FEATURES = frozenset({Feature.NOTICES, Feature.DIRECTORY, Feature.MEMBER_EVENTS})
for _feature in Feature:
    if _feature not in OFFLINE_FEATURES:
        FEATURE_DEVICES[_feature] = FEATURE_DEVICES.get(_feature, ()) + ("database",)


@dataclass(frozen=True)
class SwitchedOffView:
    """A feature staff switched off for the whole site, with the message residents read (a msgid)."""

    feature: Feature
    message: str
    by: str = ""  # staff name (maintenance shows it)
    since: datetime | None = None


@dataclass(frozen=True)
class ServiceStatus:
    out_of_service: bool
    reason: str = ""  # msgid or staff-typed text shown to users
    devices: tuple[DeviceHealth, ...] = field(default_factory=tuple)
    switched_off: tuple[SwitchedOffView, ...] = ()  # features staff switched off at this site (every kiosk)
    cached_at: datetime | None = None  # while the database is gone: when the local copy was last refreshed
    # QR payment: the networks configured here (wechatpay, alipay; empty: one unnamed gateway, nothing to choose)
    # and those taking a payment code now (scanner configured and up); docs/payments.md, "The pay-page journey"
    qr_networks: tuple[str, ...] = ()
    code_networks: tuple[str, ...] = ()

    def switched_off_message(self, feature: Feature) -> str | None:
        """The staff's message while `feature` is switched off; None while it is on."""
        return next((s.message for s in self.switched_off if s.feature == feature), None)

    def device_down(self, name: str) -> bool:
        return any(d.device == name and d.state == DeviceState.DOWN for d in self.devices)

    @property
    def database_down(self) -> bool:
        return self.device_down("database")

    def feature_blocked(self, feature: Feature) -> bool:
        return any(self.device_down(d) for d in FEATURE_DEVICES.get(feature, ()))
