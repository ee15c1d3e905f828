"""Seed a believable demo estate: buildings, ~40 households across member tiers, cards of every
kind with stored value, three months of bills (some paid), notices, parking, directory, events, staff
with their staff cards."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kiosk.demo.notices import DEMO_NOTICES, window
from kiosk.domain.site_clock import site_today, to_site, to_utc
from kiosk.domain.terms import (
    AccountKind,
    CardKind,
    EntryKind,
    FeeKind,
    MemberTier,
    PaymentMethod,
    StaffRole,
)
from kiosk.persistence.models import (
    Bill,
    Building,
    Card,
    DirectoryEntry,
    Household,
    MemberEvent,
    Notice,
    ParkingSpace,
    PrintJob,
    Resident,
    StaffUser,
    utcnow,
)
from kiosk.services import ledger, payments
from kiosk.services.pins import hash_pin
from kiosk.services.receipts import Till

# (name, role, PIN, staff card UID): the badges are 4-byte MIFARE UIDs starting 5A, apart from the residents'
# cards (D..., see demo_card_uid) and the demo bar's blank cards (B...).
DEMO_STAFF = (("staff01", StaffRole.STAFF, "246810", "5AFF0001"),
              ("tech01", StaffRole.TECHNICIAN, "135790", "5AFF0002"),
              ("admin01", StaffRole.ADMIN, "975312", "5AFF0003"))
DEMO_HOUSEHOLD_PIN = "123456"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"
MONTHLY_FEN = {FeeKind.MANAGEMENT: 28_500, FeeKind.WATER: 4_560, FeeKind.ELECTRICITY: 16_830, FeeKind.GAS: 7_210,
               FeeKind.RENT: 320_000, FeeKind.PARKING: 30_000, FeeKind.PERMIT: 2_000, FeeKind.SERVICE: 8_000}


@dataclass(frozen=True)
class SeedReport:
    households: int
    cards: int
    bills: int
    paid_bills: int
    notices: int
    staff: tuple[tuple[str, str, str, str], ...]  # (name, role, PIN, staff card UID)
    household_pin: str
    sample_cards: tuple[tuple[str, str, str], ...]  # (uid, kind, unit)


def demo_card_uid(household_index: int, kind_index: int) -> str:
    """Deterministic 4-byte UIDs, so the simulated reader's cards match the database."""
    return f"D{kind_index:01X}{household_index:06X}"[:8]


def demo_plate(household_index: int) -> str:
    """A believable, deterministic Shenzhen plate for a demo vehicle card (no random draw: the seed's
    sequence stays as it was)."""
    return f"粤B·{(household_index * 7919 + 1234) % 100000:05d}"


def already_seeded(session: Session, site_id: int) -> bool:
    return bool(session.scalar(select(func.count()).select_from(Household).where(Household.site_id == site_id)))


def seed(session: Session, till: Till, *, now: datetime | None = None, households: int = 40,
         seed_value: int = 20261128) -> SeedReport:
    """Fill an empty site. Deterministic for a given seed so screenshots and tests are repeatable."""
    rng = random.Random(seed_value)
    now = now or utcnow()
    months = [_month(now, back) for back in (2, 1, 0)]
    buildings = [Building(site_id=till.site_id, code=str(n), name=f"{n}栋") for n in (1, 2, 3)]
    session.add_all(buildings)
    session.flush()
    tiers = [MemberTier.ORDINARY] * 5 + [MemberTier.SILVER] * 3 + [MemberTier.GOLD] * 2 + [MemberTier.INSTITUTIONAL]
    pin_hash = hash_pin(DEMO_HOUSEHOLD_PIN)  # one scrypt for all demo households
    # Card values and the history's top-ups come from the previous system, not this kiosk's cash box.
    opening = ledger.account(session, AccountKind.OPENING)
    card_count = bill_count = paid_count = 0
    samples: list[tuple[str, str, str]] = []
    hh_rows: list[Household] = []
    for i in range(households):
        building = buildings[i % len(buildings)]
        unit = f"{building.code}-{(i // len(buildings)) % 30 + 1:02d}{i % 4 + 1:02d}"
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        hh = Household(site_id=till.site_id, building_id=building.id, unit_no=unit, holder_name=name,
                       phone=f"139{rng.randrange(10**8):08d}", pin_hash=pin_hash)
        session.add(hh)
        session.flush()
        hh_rows.append(hh)
        session.add(Resident(household_id=hh.id, name=name, phone=hh.phone, tier=str(tiers[i % len(tiers)]),
                             is_primary=True))
        kinds = [CardKind.RESIDENT] + ([CardKind.SMART] if i % 3 == 0 else []) + ([CardKind.VEHICLE] if i % 4 == 1 else [])
        for k, kind in enumerate(kinds):
            uid = demo_card_uid(i, k)
            card = Card(uid_hex=uid, card_no=f"{till.site_id:02d}{i:04d}{k}", kind=str(kind), household_id=hh.id,
                        issued_at=now - timedelta(days=200), plate=demo_plate(i) if kind is CardKind.VEHICLE else "")
            session.add(card)
            session.flush()
            card_count += 1
            value = rng.choice((5_000, 12_000, 30_000, 50_000, 88_800, 120_000))
            ledger.transfer(session, EntryKind.TOP_UP, opening, ledger.account(session, AccountKind.STORED_VALUE,
                                                                          card_id=card.id), value,
                            kiosk_id=till.kiosk_id, memo="opening balance")
            if len(samples) < 6:
                samples.append((uid, str(kind), unit))
        fees = [FeeKind.MANAGEMENT, FeeKind.WATER, FeeKind.ELECTRICITY, FeeKind.GAS]
        fees += [FeeKind.RENT] if i % 7 == 3 else []
        fees += [FeeKind.PARKING] if i % 4 == 1 else []
        fees += [FeeKind.PERMIT] if i % 11 == 5 else []
        fees += [FeeKind.SERVICE] if i % 5 == 2 else []
        receivable = ledger.account(session, AccountKind.RECEIVABLE, household_id=hh.id)
        for m, period in enumerate(months):
            for fee in fees:
                amount = MONTHLY_FEN[fee] + (rng.randrange(-900, 900) if fee in (FeeKind.WATER, FeeKind.ELECTRICITY,
                                                                                    FeeKind.GAS) else 0)
                due = _due(period)
                bill = Bill(household_id=hh.id, kind=str(fee), period=period, amount_fen=amount, due_date=due,
                            external_ref=f"DEMO-{unit}-{period}-{fee}")
                session.add(bill)
                session.flush()
                bill_count += 1
                ledger.transfer(session, EntryKind.BILL_ISSUED, receivable,
                                ledger.account(session, AccountKind.REVENUE, fee_kind=fee), amount,
                                memo=bill.external_ref)
        session.flush()
    # History: the oldest month is paid for most households, by card balance where it covers it.
    for i, hh in enumerate(hh_rows):
        if i % 5 == 4:
            continue
        oldest = session.scalars(select(Bill).where(Bill.household_id == hh.id, Bill.period == months[0])).all()
        card = session.scalars(select(Card).where(Card.household_id == hh.id, Card.kind == str(CardKind.RESIDENT))).one()
        sv = ledger.account(session, AccountKind.STORED_VALUE, card_id=card.id)
        total = sum(b.amount_fen for b in oldest)
        if ledger.liability_balance(session, sv) < total:
            ledger.transfer(session, EntryKind.TOP_UP, opening, sv, total, kiosk_id=till.kiosk_id, memo="demo top-up")
        payment, _ = payments.start_bill_payment(session, till, key=f"demo-history-{hh.id}", household_id=hh.id,
                                                 bill_ids=[b.id for b in oldest], method=PaymentMethod.CARD,
                                                 card_id=card.id)
        payments.settle_bill_payment(session, till, payment, "zh_Hans", now=now - timedelta(days=25))
        paid_count += len(oldest)
    # Those receipts were printed back then: nothing of the history waits in the print queue.
    session.execute(update(PrintJob).where(PrintJob.status == "queued")
                    .values(status="printed", printed_at=now - timedelta(days=25)))
    _seed_parking(session, till, hh_rows, rng)
    notices = _seed_notices(session, till, now)
    _seed_directory(session, till)
    _seed_events(session, till, now)
    for name, role, pin, card_uid in DEMO_STAFF:
        session.add(StaffUser(name=name, role=str(role), pin_hash=hash_pin(pin), card_uid_hex=card_uid))
    session.flush()
    return SeedReport(len(hh_rows), card_count, bill_count, paid_count, notices,
                      tuple((n, str(r), p, c) for n, r, p, c in DEMO_STAFF), DEMO_HOUSEHOLD_PIN, tuple(samples))


def ensure_demo_staff_cards(session: Session) -> int:
    """Give the demo staff users their staff cards in a demo database seeded before they had any (only users
    named as in DEMO_STAFF, without a card, and only a UID nobody else holds). Returns how many were given."""
    given = 0
    for name, _role, _pin, card_uid in DEMO_STAFF:
        user = session.scalars(select(StaffUser).where(StaffUser.name == name)).one_or_none()
        taken = session.scalars(select(StaffUser.id).where(StaffUser.card_uid_hex == card_uid)).first() is not None \
            or session.scalars(select(Card.id).where(Card.uid_hex == card_uid)).first() is not None
        if user is not None and user.card_uid_hex is None and not taken:
            user.card_uid_hex = card_uid
            given += 1
    session.flush()
    return given


def _month(now: datetime, back: int) -> str:
    local = to_site(now)
    year, month = local.year, local.month - back
    while month <= 0:
        year, month = year - 1, month + 12
    return f"{year:04d}-{month:02d}"


def _due(period: str) -> date:
    year, month = (int(x) for x in period.split("-"))
    return date(year, month, 28)


def _seed_parking(session: Session, till: Till, households: list[Household], rng: random.Random) -> None:
    for n in range(24):
        zone = "A" if n < 12 else "B"
        # vehicle-card households (every 4th, from the second) own or rent the first spaces
        if n < 6 and n * 4 + 1 < len(households):
            state, holder = "owned", households[n * 4 + 1]
        elif 6 <= n < 12 and (n - 6) * 4 + 3 < len(households):
            state, holder = "rented", households[(n - 6) * 4 + 3]
        else:
            state, holder = "free", None
        session.add(ParkingSpace(site_id=till.site_id, code=f"{zone}-{n + 1:03d}", zone=zone, state=state,
                                 holder_household_id=holder.id if holder else None,
                                 monthly_rent_fen=30_000 if zone == "A" else 25_000,
                                 price_fen=18_800_000 if zone == "A" else 15_800_000,
                                 paid_until=date(2026, 11, 30) if state == "rented" else None))
    session.flush()


def _seed_notices(session: Session, till: Till, now: datetime) -> int:
    for category, tier, pub, exp, pinned, titles, bodies in DEMO_NOTICES:
        publish_at, expire_at = window(now, pub, exp)
        session.add(Notice(site_id=till.site_id, category=category, audience_tier=tier, publish_at=publish_at,
                           expire_at=expire_at, pinned=pinned, title_zh_hans=titles[0], title_zh_hant=titles[1],
                           title_en=titles[2], body_zh_hans=bodies[0], body_zh_hant=bodies[1], body_en=bodies[2]))
    session.flush()
    return len(DEMO_NOTICES)


def _seed_directory(session: Session, till: Till) -> None:
    rows = [("客服中心", "客服中心", "Service centre", "0755-8888 6000", True, "service", "08:30-20:00"),
            ("物业维修", "物業維修", "Repairs", "0755-8888 6001", True, "repairs", "24h"),
            ("保安值班室", "保安值班室", "Security desk", "0755-8888 6110", True, "security", "24h"),
            ("停车场管理处", "停車場管理處", "Car park office", "0755-8888 6200", True, "parking", "07:00-23:00"),
            ("社区医院", "社區醫院", "Community clinic", "0755-8888 6120", True, "clinic", "08:00-21:00"),
            ("燃气公司抢修", "燃氣公司搶修", "Gas emergency", "0755-96668", True, "gas", "24h"),
            ("财务室（内部）", "財務室（內部）", "Finance office (staff)", "0755-8888 6900", False, "office", ""),
            ("经理手机（内部）", "經理手機（內部）", "Manager mobile (staff)", "138 0000 6901", False, "office", "")]
    for order, (hans, hant, en, phone, public, kind, hours) in enumerate(rows):
        session.add(DirectoryEntry(site_id=till.site_id, name_zh_hans=hans, name_zh_hant=hant, name_en=en,
                                   phone=phone, public=public, sort_order=order, kind=kind, hours=hours))
    session.flush()


DEMO_EVENTS = (  # titles, places, descriptions (zh_Hans, zh_Hant, en), days ahead, hours, capacity, tier
    (("亲子手工课", "親子手工課", "Parent-child crafts class"),
     ("会所多功能厅", "會所多功能廳", "Clubhouse hall"),
     ("和孩子一起做圣诞花环，材料由物业提供，适合 4 至 10 岁儿童。", "和孩子一起做聖誕花環，材料由物業提供，適合 4 至 10 歲兒童。",
      "Make a Christmas wreath with your child; materials provided, for ages 4 to 10."), 6, (10, 12), 20, None),
    (("金卡会员品酒会", "金卡會員品酒會", "Gold members' wine tasting"),
     ("会所二楼酒廊", "會所二樓酒廊", "Clubhouse lounge, 2nd floor"),
     ("品鉴六款葡萄酒，配小食，每户一个名额。", "品鑑六款葡萄酒，配小食，每戶一個名額。",
      "Six wines with light snacks; one place per household."), 9, (19, 21), 12, "gold"),
    (("健康讲座：冬季养生", "健康講座：冬季養生", "Health talk: staying well in winter"),
     ("社区活动中心", "社區活動中心", "Community centre"),
     ("社区医院医生讲解冬季饮食与防流感，现场可量血压。", "社區醫院醫生講解冬季飲食與防流感，現場可量血壓。",
      "A clinic doctor on winter food and flu; free blood pressure checks."), 4, (10, 11), 40, None),
    (("银卡会员观影日", "銀卡會員觀影日", "Silver members' film day"),
     ("会所影音室", "會所影音室", "Clubhouse cinema room"),
     ("放映经典老电影，提供爆米花和饮品。", "放映經典老電影，提供爆米花和飲品。",
      "A classic film with popcorn and drinks."), 12, (14, 16), 30, "silver"),
)


def _seed_events(session: Session, till: Till, now: datetime) -> None:
    for titles, places, descriptions, days, (start, end), capacity, tier in DEMO_EVENTS:
        day = site_today(now) + timedelta(days=days)
        session.add(MemberEvent(site_id=till.site_id, title_zh_hans=titles[0], title_zh_hant=titles[1],
                                title_en=titles[2], place_zh_hans=places[0], place_zh_hant=places[1],
                                place_en=places[2], description_zh_hans=descriptions[0],
                                description_zh_hant=descriptions[1], description_en=descriptions[2],
                                starts_at=to_utc(datetime.combine(day, time(start))),  # wall time at the site
                                ends_at=to_utc(datetime.combine(day, time(end))), capacity=capacity,
                                audience_tier=tier))
    session.flush()
