"""The domain's vocabularies as StrEnums, each with its translatable label (msgid)."""
from __future__ import annotations

from enum import StrEnum

from kiosk.i18n import N_


class FeeKind(StrEnum):
    MANAGEMENT = "management"  # 物业管理费
    WATER = "water"  # 水费
    ELECTRICITY = "electricity"  # 电费
    GAS = "gas"  # 燃气费
    RENT = "rent"  # 租金
    PARKING = "parking"  # 车位费
    PERMIT = "permit"  # 证件费
    SERVICE = "service"  # 有偿服务
    CARD_FEE = "card_fee"  # 补卡费 (replacement fee)
    BOOKING = "booking"  # installation / activation fees


FEE_LABELS: dict[FeeKind, str] = {
    FeeKind.MANAGEMENT: N_("Property management fee"),
    FeeKind.WATER: N_("Water"),
    FeeKind.ELECTRICITY: N_("Electricity"),
    FeeKind.GAS: N_("Gas"),
    FeeKind.RENT: N_("Rent"),
    FeeKind.PARKING: N_("Parking space fee"),
    FeeKind.PERMIT: N_("Certificate and permit fee"),
    FeeKind.SERVICE: N_("Paid service"),
    FeeKind.CARD_FEE: N_("Card replacement fee"),
    FeeKind.BOOKING: N_("Installation fee"),
}

BILLABLE_FEES = (FeeKind.MANAGEMENT, FeeKind.WATER, FeeKind.ELECTRICITY, FeeKind.GAS, FeeKind.RENT,
                 FeeKind.PARKING, FeeKind.PERMIT, FeeKind.SERVICE)


class BillStatus(StrEnum):
    OPEN = "open"
    PENDING = "pending"  # reserved by a payment intent; back to open if that payment fails
    PAID = "paid"
    CANCELLED = "cancelled"


class PaymentMethod(StrEnum):
    CARD = "card"  # the card's stored value (余额)
    CASH = "cash"  # banknotes (现金)
    QR = "qr"  # scan to pay (扫码支付)
    CREDIT = "credit"  # the household's account credit from earlier overpayments


METHOD_LABELS: dict[PaymentMethod, str] = {
    PaymentMethod.CARD: N_("Card balance"),
    PaymentMethod.CASH: N_("Cash"),
    PaymentMethod.QR: N_("QR payment"),
    PaymentMethod.CREDIT: N_("Account credit"),
}


class PaymentStatus(StrEnum):
    INTENT = "intent"  # recorded before money moves
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    VOIDED = "voided"


class PaymentPurpose(StrEnum):
    BILLS = "bills"
    TOP_UP = "top_up"
    CARD_REPLACEMENT = "card_replacement"
    BOOKING = "booking"
    PARKING = "parking"


class CardKind(StrEnum):
    RESIDENT = "resident"  # 住户卡
    SMART = "smart"  # 智能卡 (一卡通)
    VEHICLE = "vehicle"  # 车辆IC卡


CARD_KIND_LABELS: dict[CardKind, str] = {
    CardKind.RESIDENT: N_("Resident card"),
    CardKind.SMART: N_("Smart card"),
    CardKind.VEHICLE: N_("Vehicle IC card"),
}


class CardStatus(StrEnum):
    ACTIVE = "active"  # 正常
    LOST = "lost"  # 挂失: blocked everywhere at once; lifted (解挂) by tapping that card + the household PIN, or staff
    FROZEN = "frozen"  # 临时冻结: a temporary block asked for by the resident or set by staff; lifted the same way
    REPLACED = "replaced"  # 补卡: a replacement was issued; the old card stays blocked for ever


CARD_STATUS_LABELS: dict[CardStatus, str] = {
    CardStatus.ACTIVE: N_("In use"),
    CardStatus.LOST: N_("Reported lost"),
    CardStatus.FROZEN: N_("Frozen"),
    CardStatus.REPLACED: N_("Replaced, no longer valid"),
}


class MemberTier(StrEnum):
    ORDINARY = "ordinary"
    SILVER = "silver"
    GOLD = "gold"
    INSTITUTIONAL = "institutional"


TIER_LABELS: dict[MemberTier, str] = {
    MemberTier.ORDINARY: N_("Ordinary member"),
    MemberTier.SILVER: N_("Silver member"),
    MemberTier.GOLD: N_("Gold member"),
    MemberTier.INSTITUTIONAL: N_("Institutional member"),
}


class AccountKind(StrEnum):
    RECEIVABLE = "receivable"  # asset: what a household owes (bills issued, not paid)
    STORED_VALUE = "stored_value"  # liability: value held for a card
    CREDIT = "credit"  # liability: a household's credit (overpayment, late QR payment)
    CASH_BOX = "cash_box"  # asset: banknotes in a kiosk's acceptor box
    GATEWAY_CLEARING = "gateway_clearing"  # asset: QR money held by the gateway
    REVENUE = "revenue"  # income per fee kind
    OPENING = "opening"  # equity: balances taken over from the estate's previous system
    SUSPENSE = "suspense"  # liability: money a kiosk received that no payment claims yet (staff resolve it)


class EntryKind(StrEnum):
    BILL_ISSUED = "bill_issued"
    BILL_PAYMENT = "bill_payment"
    TOP_UP = "top_up"
    CASH_IN = "cash_in"  # banknote stacked, credited before it is applied
    CARD_FEE = "card_fee"
    BALANCE_TRANSFER = "balance_transfer"
    BOOKING_FEE = "booking_fee"
    PARKING_FEE = "parking_fee"
    REFUND = "refund"
    VOID = "void"  # reverses an earlier entry


class StaffRole(StrEnum):
    STAFF = "staff"
    TECHNICIAN = "technician"
    ADMIN = "admin"


class BookingKind(StrEnum):
    PHONE = "phone"  # 电话
    TV = "tv"  # 电视
    BROADBAND = "broadband"  # 宽带
    ALARM = "alarm"  # 报警系统
    INTERCOM = "intercom"  # 可视对讲
    GAS = "gas"  # 燃气开通


BOOKING_LABELS: dict[BookingKind, str] = {
    BookingKind.PHONE: N_("Telephone installation"),
    BookingKind.TV: N_("TV installation"),
    BookingKind.BROADBAND: N_("Broadband installation"),
    BookingKind.ALARM: N_("Alarm system installation"),
    BookingKind.INTERCOM: N_("Video intercom installation"),
    BookingKind.GAS: N_("Gas activation"),
}


class ParkingState(StrEnum):
    OWNED = "owned"
    RENTED = "rented"
    FREE = "free"


class SiteFeature(StrEnum):
    """What a site can offer a resident (the flows call it Feature). A site's config leaves out what it does not
    offer (`site.features_not_offered`); staff switch one off for a while (kiosk.services.feature_switches)."""

    NOTICES = "notices"
    DIRECTORY = "directory"
    MEMBER_EVENTS = "member_events"
    CALLBACK = "callback"
    PAY_FEES = "pay_fees"
    TOP_UP = "top_up"
    CARD_LOSS = "card_loss"
    BOOKINGS = "bookings"
    PARKING = "parking"
    DIRECT_DEBIT = "direct_debit"
    RECORDS = "records"


# Account credit in settlement and handover: where it came from, and what it was spent with.
CREDIT_CREATED_LABELS: dict[str, str] = {
    "cash": N_("Credit created: cash overpayments"), "qr": N_("Credit created: QR overpayments"),
    "refund": N_("Credit created: refunds"), "void": N_("Credit created: voids"),
}
CREDIT_USED_LABELS: dict[str, str] = {
    "credit": N_("Credit used alone"), "card": N_("Credit used with card balance"),
    "cash": N_("Credit used with cash"), "qr": N_("Credit used with QR payment"),
}
