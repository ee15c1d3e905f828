"""One resident's and one cashier's day on the real facade over a throw-away SQLite, on a fixed clock, printed as
JSON: what the screens said and what the receipts, records, settlement and CSV hold. Run as a subprocess with
different `TZ`s (tests/clock/test_one_clock.py); the output must not depend on the machine's zone.

    TZ=UTC python -m tests.clock.journey DATA_DIR
"""
from __future__ import annotations

import dataclasses
import json
import sys
import time
from datetime import date, datetime, timedelta, timezone
from enum import Enum
from pathlib import Path
from typing import Any

from sqlalchemy import select

UTC = timezone.utc
SUNDAY_0930 = datetime(2026, 11, 29, 1, 30, tzinfo=UTC)   # Sunday 09:30 in Shanghai (site opens 09:30)
PAID_0932 = datetime(2026, 11, 29, 1, 32, tzinfo=UTC)     # 09:32 there
MONTH_END = datetime(2026, 11, 30, 15, 59, 50, tzinfo=UTC)  # 30 Nov 23:59:50 there: the last day of the month
NEXT_DAY = datetime(2026, 11, 30, 16, 0, 10, tzinfo=UTC)    # 1 Dec 00:00:10 there
TUESDAY_1000 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)       # 1 Dec 10:00 there: open again
UNIT, PIN, STAFF_PIN = "1-0101", "123456", "246810"


def texts(value: Any) -> list[str]:
    """Every string a view holds, in order (what a screen can show)."""
    if isinstance(value, Enum):
        return [str(value.value)]
    if isinstance(value, str):
        return [value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [t for f in dataclasses.fields(value) for t in texts(getattr(value, f.name))]
    if isinstance(value, (tuple, list)):
        return [t for item in value for t in texts(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in texts(item)]
    return []


def run(data_dir: Path) -> dict[str, Any]:
    from kiosk import bootstrap, settings as settings_mod
    from kiosk.app_runtime.devices import AttachedDevices
    from kiosk.app_runtime.runtime import KioskRuntime
    from kiosk.demo import estate
    from kiosk.domain import site_clock
    from kiosk.flows import records as r
    from kiosk.flows.navigator import Navigator
    from kiosk.flows.runner import InlineRunner
    from kiosk.flows.session import Session
    from kiosk.persistence.db import make_engine, make_session_factory, unit_of_work
    from kiosk.persistence.models import Card, Household, Receipt
    from kiosk.persistence import schema
    from kiosk.receipts.layout import layout_receipt
    from kiosk.services import receipts as receipt_service

    moment = [SUNDAY_0930]
    site_clock.use_source(lambda: moment[0])
    url = f"sqlite:///{data_dir / 'kiosk.sqlite3'}"
    settings = settings_mod.load(data_dir, db_url=url)
    engine = make_engine(url)
    schema.upgrade(engine)
    factory = make_session_factory(engine, chain=bootstrap.chain_binding(settings))
    db = bootstrap.Database(engine, factory, url)
    till = bootstrap.ensure_till(db, settings)
    with unit_of_work(factory) as s:
        estate.seed(s, till, now=site_clock.now_utc(), households=6)
        hh = s.scalars(select(Household).where(Household.unit_no == UNIT)).one()
        household_id = str(hh.id)
        card_uid = s.scalars(select(Card.uid_hex).where(Card.household_id == hh.id, Card.kind == "resident")).one()
    rt = KioskRuntime(settings, db, till, AttachedDevices(None, None, None, None))
    svc = rt.services
    out: dict[str, Any] = {"machine_tz": time.tzname[0], "screens": {}}

    def screen(name: str, nav: Navigator) -> None:
        out["screens"][name] = texts(nav.flow.view())

    # 09:30 on Sunday: the site opens; a resident signs in with unit number and PIN.
    nav = Navigator(svc, Session(default_language="en", language="en"), InlineRunner())
    nav.go("attract")
    screen("attract", nav)
    nav.flow.sign_in()
    nav.flow.use_keypad()
    for ch in UNIT:
        nav.flow.key(ch)
    nav.flow.submit()
    for ch in PIN:
        nav.flow.key(ch)
    nav.flow.submit()
    out["after_sign_in"] = nav.route.name
    screen("household", nav)
    nav.flow.choose("notices")
    screen("notices", nav)
    nav.go("member_events")
    screen("member_events", nav)

    moment[0] = PAID_0932 + timedelta(minutes=1)  # 09:33: a callback request
    svc.request_callback("13912345678", "fees", "en")

    # 09:32: pay the oldest bill from the card; then the month's last second and the next month's first.
    bills = svc.household_summary(household_id).bills
    paid = []
    for at, bill in zip((PAID_0932, MONTH_END, NEXT_DAY), bills, strict=False):
        moment[0] = at
        paid.append(svc.pay_bills(household_id, (bill.bill_id,), r.PaymentMethod.CARD_BALANCE, f"k-{at:%H%M%S}",
                                  "en", card_uid=card_uid))
    out["paid"] = [p.receipt_number for p in paid]

    moment[0] = NEXT_DAY + timedelta(minutes=5)
    nav.go("records")
    screen("records_at_0005", nav)  # closed: the hours are shown instead
    moment[0] = TUESDAY_1000
    nav.go("records")
    screen("records", nav)
    with unit_of_work(factory) as s:
        stored = list(s.scalars(select(Receipt).where(Receipt.number.in_([int(p.receipt_number) for p in paid]))
                                .order_by(Receipt.number)))
        out["receipts"] = [{"issued_at": rec.issued_at.isoformat(), "document": json.loads(rec.content),
                            "printed": [line.text for line in layout_receipt(receipt_service.document(rec)).text_lines()]}
                           for rec in stored]

    # The cashier: receipts of the day and the settlement of 30 Nov and of 1 Dec.
    staff = svc.staff_sign_in(STAFF_PIN)
    out["receipts_of_30_nov"] = [x.receipt_number for x in svc.receipts_of_day(staff.staff_id, date(2026, 11, 30))]
    out["receipts_of_1_dec"] = [x.receipt_number for x in svc.receipts_of_day(staff.staff_id, date(2026, 12, 1))]
    for day in (date(2026, 11, 29), date(2026, 11, 30), date(2026, 12, 1)):
        report = svc.settlement(staff.staff_id, day)
        out[f"settlement_{day}"] = {"total_fen": report.total_fen, "receipts": [report.first_receipt, report.last_receipt], "csv": report.csv_text}
    out["settlement_today"] = str(svc.settlement(staff.staff_id).day)
    nav.go("staff_unlock")
    for ch in STAFF_PIN:
        nav.flow.key(ch)
    nav.flow.submit()
    nav.flow.open("staff_receipts")
    screen("staff_receipts", nav)
    nav.go("staff_callbacks")
    screen("staff_callbacks", nav)
    nav.go("staff_notices")
    screen("staff_notices", nav)
    engine.dispose()
    return out


if __name__ == "__main__":
    print(json.dumps(run(Path(sys.argv[1])), ensure_ascii=False, indent=1, default=str))
