"""The fleet bench's estate (bench/fleet.py): one site, K kiosks, households with enough open bills for the run
(imported as `kiosk import bills` does), each with a resident card issued with stored value (its issue write
done, so the card's value can be checked against the ledger at the end); and the checks made at the end, from
the database alone."""
from __future__ import annotations

import io
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.domain.receipt import ReceiptKind
from kiosk.domain.terms import AccountKind, CardKind, EntryKind, PaymentStatus
from kiosk.persistence.models import (Building, Card, CashEventRecord, Household, JournalEntry, Kiosk, Payment,
                                      Receipt, Resident, Site)
from kiosk.services import cards, imports, integrity, ledger

SITE_NAMES = {"zh_Hans": "和悦花园", "zh_Hant": "和悅花園", "en": "Heyue Garden"}
CARD_VALUE_FEN = 10_000_000  # 100,000 yuan on every card: card payments are not refused for want of value


def kiosk_code(n: int) -> str:
    return f"K{n + 1:02d}"


@dataclass(frozen=True)
class FleetEstate:
    site_id: int
    kiosk_ids: dict[str, int]  # kiosk code -> id
    household_ids: list[int]


def build(session: Session, *, kiosks: int, households: int, bills_each: int) -> FleetEstate:
    site = Site(code="HY", name_zh_hans=SITE_NAMES["zh_Hans"], name_zh_hant=SITE_NAMES["zh_Hant"],
                name_en=SITE_NAMES["en"])
    session.add(site)
    session.flush()
    kiosk_rows = [Kiosk(site_id=site.id, code=kiosk_code(n), name=f"Kiosk {n + 1}") for n in range(kiosks)]
    building = Building(site_id=site.id, code="1", name="1栋")
    session.add_all([*kiosk_rows, building])
    session.flush()
    hh_ids = []
    for n in range(households):
        hh = Household(site_id=site.id, building_id=building.id, unit_no=f"1-{n + 1:04d}", holder_name=f"住户{n}")
        session.add(hh)
        session.flush()
        session.add(Resident(household_id=hh.id, name=f"住户{n}", is_primary=True))
        card = Card(uid_hex=f"0A{n:06X}", card_no=f"C{hh.id:06d}", kind=str(CardKind.RESIDENT), household_id=hh.id)
        session.add(card)
        session.flush()
        ledger.transfer(session, EntryKind.TOP_UP, ledger.account(session, AccountKind.OPENING),
                        ledger.account(session, AccountKind.STORED_VALUE, card_id=card.id), CARD_VALUE_FEN)
        write = cards.record_card_write(session, card, kind="issue", old_value_fen=0, new_value_fen=CARD_VALUE_FEN)
        cards.resolve_card_write(session, write.operation_id, done=True, actor="office:fleet")
        hh_ids.append(hh.id)
    csv = io.StringIO()
    csv.write(",".join(imports.BILL_COLUMNS) + "\n")
    kinds = ["management", "water", "electricity", "gas"]
    for n in range(households):
        for b in range(bills_each):
            year, month = 2000 + b // 12, b % 12 + 1
            csv.write(f"1-{n + 1:04d},{kinds[b % 4]},{year}-{month:02d},{50 + (n * 7 + b * 13) % 300}.00,"
                      f"{year}-{month:02d}-28,F-{n}-{b}\n")
    imports.import_bills(session, site.id, csv.getvalue(), actor="office:fleet")
    return FleetEstate(site.id, {k.code: k.id for k in kiosk_rows}, hh_ids)


def check(session: Session, key: bytes) -> list[str]:
    """Every invariant, from the database alone: what `kiosk audit verify` checks (the keyed chains, every entry
    balanced, no liability below zero, no bill paid twice, receipt numbers gap-free per site, every card's last
    write equal to its ledger value), and that no idempotency key had two effects. One line per problem."""
    report = integrity.verify(session, key)
    problems = [str(p) for p in report.problems]
    # a key has one payment row (unique); that payment has at most one receipt of its own, exactly one if it
    # succeeded or was voided later, none if it failed; and each banknote counter was credited once per kiosk
    receipts_of = dict(session.execute(
        select(Receipt.payment_id, func.count()).where(Receipt.payment_id.is_not(None),
                                                       Receipt.kind != str(ReceiptKind.VOID))
        .group_by(Receipt.payment_id)).all())
    for pid, reference, status in session.execute(select(Payment.id, Payment.reference, Payment.status)):
        want = 1 if status in (PaymentStatus.SUCCEEDED, PaymentStatus.VOIDED) else 0
        if receipts_of.get(pid, 0) != want:
            problems.append(f"payment {reference} ({status}) has {receipts_of.get(pid, 0)} receipts, not {want}")
    for kiosk_id, counter, times in session.execute(
            select(CashEventRecord.kiosk_id, CashEventRecord.counter, func.count())
            .group_by(CashEventRecord.kiosk_id, CashEventRecord.counter).having(func.count() > 1)):
        problems.append(f"kiosk {kiosk_id} credited banknote {counter} {times} times")
    for payment_id, memo, times in session.execute(
            select(JournalEntry.payment_id, JournalEntry.memo, func.count())
            .where(JournalEntry.memo.like("gateway %")).group_by(JournalEntry.payment_id, JournalEntry.memo)
            .having(func.count() > 1)):
        problems.append(f"payment {payment_id}: {memo} on the ledger {times} times")
    return problems
