"""The small demo estate FakeKioskServices starts with: one site, a few households, cards, bills, staff."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from kiosk.flows.records import (
    BankOption,
    BillKind,
    BillView,
    BookingOption,
    CardKind,
    CardStatus,
    DirectoryEntry,
    Feature,
    MemberEventView,
    OpeningHours,
    ParkingSpaceView,
    SiteInfo,
    StaffRole,
)

ALL_DAY = tuple(OpeningHours(d, time(0, 0), time(23, 59, 59)) for d in range(7))
MALL_HOURS = tuple(
    OpeningHours(d, time(9, 30), time(22, 0) if d < 5 else time(22, 30)) for d in range(7)
)


def closed_today(today: date | None = None) -> tuple[OpeningHours, ...]:
    """Mall hours on every weekday except today's, which is closed (to demo out-of-hours mode)."""
    weekday = (today or date.today()).weekday()
    return tuple(h for h in MALL_HOURS if h.weekday != weekday)


@dataclass
class FakeHousehold:
    household_id: str
    unit: str  # what residents type, e.g. "1-0302"
    unit_label: str  # masked for screens
    tier: str
    pin: str
    bills: dict[str, BillView] = field(default_factory=dict)
    credit_fen: int = 0
    pin_failed: int = 0  # wrong PINs in a row; the real count and lock rules are proven in tests/services
    pin_locked_until: datetime | None = None


@dataclass
class FakeCard:
    uid: str
    household_id: str
    status: CardStatus
    balance_fen: int
    kind: CardKind = CardKind.RESIDENT
    plate: str = ""
    frozen_by_staff: bool = False


@dataclass
class FakeStaff:
    staff_id: str
    name: str
    role: StaffRole
    pin: str
    failed: int = 0
    locked_until: datetime | None = None
    card_uid: str | None = None  # a staff card (UID hex), for card + PIN sign-in


@dataclass
class FakeNotice:
    notice_id: str
    category: str
    titles: dict[str, str]
    bodies: dict[str, str]
    publish_at: datetime
    expires_at: datetime | None
    pinned: bool = False
    tiers: frozenset[str] = frozenset()
    withdrawn_at: datetime | None = None


def demo_site(hours: tuple[OpeningHours, ...] = ALL_DAY) -> SiteInfo:
    return SiteInfo(
        site_id="GL01",
        kiosk_id="K1",
        names={"zh_Hans": "翠湖花园", "zh_Hant": "翠湖花園", "en": "Green Lake Garden"},
        hours=hours,
        features=frozenset(Feature),
        out_of_hours_features=frozenset({Feature.NOTICES, Feature.DIRECTORY}),
    )


def demo_households(today: date) -> dict[str, FakeHousehold]:
    due = today + timedelta(days=10)
    h1 = FakeHousehold("H1", "1-0302", "1栋-**02", "gold", "1234")
    for bill in (
        BillView("B101", BillKind.MANAGEMENT, "2026-10", 35000, due),
        BillView("B102", BillKind.WATER, "2026-10", 4280, due),
        BillView("B103", BillKind.ELECTRICITY, "2026-10", 12650, due),
        BillView("B104", BillKind.PARKING, "2026-10", 30000, due),
    ):
        h1.bills[bill.bill_id] = bill
    h2 = FakeHousehold("H2", "2-1101", "2栋-**01", "ordinary", "5678")
    h2.bills["B201"] = BillView("B201", BillKind.GAS, "2026-10", 8800, due)
    h3 = FakeHousehold("H3", "2-0505", "2栋-**05", "silver", "0000")
    h5 = FakeHousehold("H5", "3-0606", "3栋-**06", "ordinary", "8642")  # three cards of three kinds: the card picker
    h5.bills["B501"] = BillView("B501", BillKind.MANAGEMENT, "2026-10", 6000, due)
    return {h.household_id: h for h in (h1, h2, h3, h5)}


def demo_cards() -> dict[str, FakeCard]:
    cards = (
        FakeCard("A1B2C3D4", "H1", CardStatus.ACTIVE, 20000),
        FakeCard("11223344", "H2", CardStatus.ACTIVE, 500),
        FakeCard("DEADBEEF", "H2", CardStatus.LOST, 1200),
        FakeCard("CAFEF00D", "H3", CardStatus.FROZEN, 3000),
        FakeCard("0BADCAFE", "H3", CardStatus.REPLACED, 0),
        FakeCard("C0FFEE01", "H5", CardStatus.ACTIVE, 8000),
        FakeCard("C0FFEE02", "H5", CardStatus.ACTIVE, 2500, CardKind.SMART),
        FakeCard("C0FFEE03", "H5", CardStatus.ACTIVE, 1000, CardKind.VEHICLE, plate="粤B·12345"),
    )
    return {c.uid: c for c in cards}


def demo_staff() -> dict[str, FakeStaff]:
    return {
        "S1": FakeStaff("S1", "王芳", StaffRole.STAFF, "2468", card_uid="5A5A5A5A"),
        "T1": FakeStaff("T1", "李强", StaffRole.TECHNICIAN, "1357"),
    }


def demo_notices(now: datetime) -> list[FakeNotice]:
    day = timedelta(days=1)
    return [
        FakeNotice("N1", "maintenance", {"zh_Hans": "停水通知", "zh_Hant": "停水通知", "en": "Water outage"},
                   {"zh_Hans": "本周六 9:00-12:00 2栋停水检修，请提前储水。",
                    "zh_Hant": "本週六 9:00-12:00 2棟停水檢修，請提前儲水。",
                    "en": "Building 2 water off Saturday 9:00-12:00 for repairs."},
                   now - day, now + 3 * day, pinned=True),
        FakeNotice("N2", "fees", {"zh_Hans": "物业费缴纳提醒", "zh_Hant": "物業費繳納提醒",
                                  "en": "Property fee reminder"},
                   {"zh_Hans": "10月物业管理费请于月底前缴纳，可在本机刷卡缴费。",
                    "zh_Hant": "10月物業管理費請於月底前繳納，可在本機刷卡繳費。",
                    "en": "Please pay October's property fee by month end; you can pay here."},
                   now - 2 * day, now + 20 * day),
        FakeNotice("N3", "member", {"zh_Hans": "金卡会员专享：端午礼盒", "zh_Hant": "金卡會員專享：端午禮盒",
                                     "en": "Gold members: festival gift box"},
                   {"zh_Hans": "金卡会员可凭卡到客服中心领取礼盒。", "zh_Hant": "金卡會員可憑卡到客服中心領取禮盒。",
                    "en": "Gold members may collect a gift box at the service centre."},
                   now - day, now + 5 * day, tiers=frozenset({"gold"})),
        FakeNotice("N4", "general", {"zh_Hans": "旧通知", "zh_Hant": "舊通知", "en": "Old notice"},
                   {"zh_Hans": "已过期", "zh_Hant": "已過期", "en": "Expired"},
                   now - 10 * day, now - day),
    ]


def demo_directory() -> list[tuple[DirectoryEntry, bool]]:
    """(entry, public) pairs; the fake filters out staff-only rows like the real service must."""
    return [
        (DirectoryEntry("客服中心 / Service centre", "020-8888 1000", "service", "08:30-20:00"), True),
        (DirectoryEntry("保安值班室 / Security", "020-8888 1110", "security", "24h"), True),
        (DirectoryEntry("维修报修 / Repairs", "020-8888 1200", "repairs", "24h"), True),
        (DirectoryEntry("经理手机 / Manager mobile", "138-0000-9999", "staff"), False),
    ]


# places left in the demo's booking slots, in turn (morning, afternoon, next morning ...): the fourth is full
DEMO_SLOT_PLACES = (3, 1, 2, 0)


def demo_events(now: datetime) -> dict[str, tuple[MemberEventView, frozenset[str]]]:
    """event id -> (event, tiers that see it; empty: everyone)."""
    day = timedelta(days=1)
    return {"E1": (MemberEventView("E1", "亲子烘焙课 / Family baking", now + 3 * day, "会所 / Clubhouse", 2,
                                   "和孩子一起做圣诞饼干 / Bake Christmas cookies with your child", None,
                                   now + 3 * day + timedelta(hours=2)), frozenset()),
            "E2": (MemberEventView("E2", "金卡品酒会 / Gold wine tasting", now + 6 * day, "会所 / Clubhouse", 10,
                                   "六款葡萄酒 / Six wines", "gold"), frozenset({"gold"})),
            "E3": (MemberEventView("E3", "健康讲座 / Health talk", now + 4 * day, "活动中心 / Community centre", 0,
                                   "冬季养生 / Staying well in winter", None, now + 4 * day + timedelta(hours=1)),
                   frozenset())}


def demo_booking_options() -> tuple[BookingOption, ...]:
    return (BookingOption("broadband", 5000), BookingOption("tv", 3000), BookingOption("gas", 10000),
            BookingOption("phone", 3000), BookingOption("alarm", 8000), BookingOption("intercom", 6000))


def demo_parking() -> dict[str, tuple[ParkingSpaceView, str | None]]:
    """space id -> (space, holder household id)."""
    return {
        "P-B1-012": (ParkingSpaceView("P-B1-012", "B1-012", "rented", 30000), "H1"),
        "P-B1-020": (ParkingSpaceView("P-B1-020", "B1-020", "owned", 15000), "H2"),
        "P-B1-031": (ParkingSpaceView("P-B1-031", "B1-031", "free", 30000, price_fen=18000000), None),
        "P-B2-004": (ParkingSpaceView("P-B2-004", "B2-004", "free", 28000, price_fen=16000000), None),
    }


def demo_banks() -> tuple[BankOption, ...]:
    return (BankOption("ICBC", "中国工商银行 ICBC"), BankOption("CCB", "中国建设银行 CCB"),
            BankOption("BOC", "中国银行 BOC"), BankOption("ABC", "中国农业银行 ABC"))
