"""A kiosk process whose machine clock is wrong by `skew_s` (through site_clock's clock seam, as a box with a bad
clock would be): starts its runtime's database clock as `kiosk run` does, pays one bill by card and prints JSON
(the payment, its machine clock, the maintenance page's device lines). Run by tests/fleet/test_database_clock.py."""
from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path


def main(job: dict) -> dict:  # type: ignore[type-arg]
    from kiosk.domain import site_clock

    skew = timedelta(seconds=job["skew_s"])
    site_clock.use_source(lambda: datetime.now(timezone.utc) + skew)  # this box's clock is wrong

    from sqlalchemy import select

    from kiosk.app_runtime.devices import AttachedDevices
    from kiosk.app_runtime.runtime import KioskRuntime
    from kiosk.app_runtime.wiring import attach_database_clock
    from kiosk.domain.terms import BillStatus, CardKind, PaymentMethod
    from kiosk.persistence.db import make_engine, unit_of_work
    from kiosk.persistence.models import Bill, Card
    from kiosk.services import payments
    from tests.support.chain_key import bound_factory
    from tests.support.demo_site import seeded_site

    engine = make_engine(job["url"])
    factory = bound_factory(engine)
    from kiosk import bootstrap, settings as settings_mod

    settings = settings_mod.load(Path(job["data_dir"]), db_url=job["url"])
    db = bootstrap.Database(engine, factory, job["url"])
    till = bootstrap.ensure_till(db, settings)
    rt = KioskRuntime(settings, db, till, AttachedDevices(None, None, None, None))
    attach_database_clock(rt)
    _settings, _db, till, _report = seeded_site(engine, factory, job["url"], Path(job["data_dir"]), households=2)
    with unit_of_work(factory) as s:
        card = s.scalars(select(Card).where(Card.kind == str(CardKind.RESIDENT)).order_by(Card.id)).first()
        bill = s.scalars(select(Bill).where(Bill.household_id == card.household_id,
                                            Bill.status == str(BillStatus.OPEN)).order_by(Bill.id)).first()
        card_id, household_id, bill_id = card.id, card.household_id, bill.id
    done = payments.pay_bills(factory, till, key="wrong-clock-1", household_id=household_id, bill_ids=[bill_id],
                              method=PaymentMethod.CARD, card_id=card_id, language="en")
    health = [(d.device, str(d.state), d.detail) for d in rt.device_health()]
    machine = site_clock.machine_now().isoformat()
    rt.stop()
    return {"payment_id": done.payment_id, "machine_now": machine, "health": health}


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    print(json.dumps(main(json.loads(sys.argv[1]))), flush=True)
