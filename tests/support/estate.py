"""A small estate for tests: one site, one kiosk, a building, households with open bills and cards."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from kiosk.domain.terms import AccountKind, CardKind, EntryKind
from kiosk.persistence.models import Bill, Building, Card, Household, Kiosk, Resident, Site
from kiosk.services import ledger
from kiosk.services.receipts import Till


@dataclass(frozen=True)
class MiniEstate:
    till: Till
    household_ids: list[int]
    bill_ids: dict[int, list[int]]  # household -> bills
    card_ids: dict[int, int]  # household -> card


def build(session: Session, households: int = 2, bills_each: int = 3, card_value_fen: int = 50_000) -> MiniEstate:
    site = Site(code="HY", name_zh_hans="和悦花园", name_zh_hant="和悅花園", name_en="Heyue Garden")
    session.add(site)
    session.flush()
    kiosk = Kiosk(site_id=site.id, code="K01", name="Lobby")
    building = Building(site_id=site.id, code="1", name="1栋")
    session.add_all([kiosk, building])
    session.flush()
    till = Till(site.id, kiosk.id, kiosk.code, {"zh_Hans": site.name_zh_hans, "zh_Hant": site.name_zh_hant,
                                                "en": site.name_en})
    hh_ids: list[int] = []
    bill_ids: dict[int, list[int]] = {}
    card_ids: dict[int, int] = {}
    for n in range(households):
        hh = Household(site_id=site.id, building_id=building.id, unit_no=f"1-{n + 1:02d}01", holder_name=f"住户{n}")
        session.add(hh)
        session.flush()
        session.add(Resident(household_id=hh.id, name=f"住户{n}", is_primary=True))
        hh_ids.append(hh.id)
        bill_ids[hh.id] = []
        for b in range(bills_each):
            bill = Bill(household_id=hh.id, kind=["management", "water", "electricity"][b % 3], period=f"2026-{b + 8:02d}",
                        amount_fen=10_000 + 1_234 * b, due_date=date(2026, b + 8, 28), external_ref=f"T-{hh.id}-{b}")
            session.add(bill)
            session.flush()
            receivable = ledger.account(session, AccountKind.RECEIVABLE, household_id=hh.id)
            revenue = ledger.account(session, AccountKind.REVENUE, fee_kind=bill.kind)
            ledger.transfer(session, EntryKind.BILL_ISSUED, receivable, revenue, bill.amount_fen)
            bill_ids[hh.id].append(bill.id)
        card = Card(uid_hex=f"0A0B0C{n:02X}", card_no=f"C{hh.id:06d}", kind=str(CardKind.RESIDENT), household_id=hh.id)
        session.add(card)
        session.flush()
        card_ids[hh.id] = card.id
        if card_value_fen:
            sv = ledger.account(session, AccountKind.STORED_VALUE, card_id=card.id)
            opening = ledger.account(session, AccountKind.OPENING)
            ledger.transfer(session, EntryKind.TOP_UP, opening, sv, card_value_fen)
    return MiniEstate(till, hh_ids, bill_ids, card_ids)
