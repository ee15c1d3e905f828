"""The journey benchmark's view of the kiosk's database and printer (bench/journeys.py): what a journey changed, and
the one set-up step before the measured start (older bills settled, so a card covers this month's)."""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select, update

from kiosk import bootstrap
from kiosk.domain.terms import CardKind, CardStatus, PaymentMethod
from kiosk.flows.records import CardView
from kiosk.persistence.db import make_engine, make_session_factory, unit_of_work
from kiosk.persistence.models import Bill, Card, Household, Payment, PrintJob, Receipt
from kiosk.services import cards as card_service, households, payments


class EstateDb:
    """The kiosk's own database and simulated printer, read from the benchmark's process."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.settings = bootstrap.load_settings(data_dir, None, None, True)
        self.factory = make_session_factory(make_engine(bootstrap.database_url(self.settings)),
                                            chain=bootstrap.chain_binding(self.settings))

    def _household(self, s, unit: str) -> Household:  # type: ignore[no-untyped-def]
        return s.scalars(select(Household).where(Household.unit_no == unit)).one()

    def _card(self, s, unit: str) -> Card:  # type: ignore[no-untyped-def]
        hh = self._household(s, unit)
        return s.scalars(select(Card).where(Card.household_id == hh.id, Card.kind == str(CardKind.RESIDENT))).one()

    def total_due(self, unit: str) -> int:
        with unit_of_work(self.factory) as s:
            return households.household_summary(s, self._household(s, unit).id).total_due_fen

    def balance(self, unit: str) -> int:
        with unit_of_work(self.factory) as s:
            return card_service.card_balance(s, self._card(s, unit).id)

    def card_status(self, unit: str) -> str:
        with unit_of_work(self.factory) as s:
            return self._card(s, unit).status

    def card_view(self, unit: str) -> CardView:
        """The household's resident card as the card picker names it."""
        with unit_of_work(self.factory) as s:
            c = self._card(s, unit)
            return CardView(c.uid_hex, CardKind(c.kind), CardStatus(c.status), card_service.card_balance(s, c.id),
                            c.plate or "", bool(c.frozen_by_staff), c.card_no)

    def last_receipt(self, unit: str) -> tuple[str, int]:
        """(number as printed, amount) of the household's newest receipt."""
        with unit_of_work(self.factory) as s:
            hh = self._household(s, unit)
            r = s.scalars(select(Receipt).where(Receipt.household_id == hh.id).order_by(Receipt.id.desc())).first()
            assert r is not None, f"{unit} has no receipt"
            payment = s.get(Payment, r.payment_id) if r.payment_id is not None else None
            return f"{r.number:08d}", payment.amount_fen if payment is not None else 0

    def printed_count(self, number: str) -> int:
        """How many slips the simulated printer cut that name receipt `number`."""
        folder = self.data_dir / "printer-sim"
        slips = (json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.json")) if folder.exists() else ()
        return sum(any(number in line for line in slip["lines"]) for slip in slips)


def settle_older_bills(db: EstateDb, unit: str) -> None:
    """Every bill of `unit` but the newest month's paid by QR code before the kiosk starts (last month's visit,
    its receipt long printed), so the household owes this month's bills only."""
    till = bootstrap.ensure_till(bootstrap.open_database(db.settings, upgrade=False), db.settings)
    with unit_of_work(db.factory) as s:
        hh = db._household(s, unit)
        open_bills = s.scalars(select(Bill).where(Bill.household_id == hh.id, Bill.status == "open")).all()
        newest = max(b.period for b in open_bills)
        older = [b.id for b in open_bills if b.period != newest]
        if older:
            payment, _ = payments.start_bill_payment(s, till, key=f"bench-older-{hh.id}", household_id=hh.id,
                                                     bill_ids=older, method=PaymentMethod.QR)
            payments.record_gateway_paid(s, till, payment, payment.amount_fen, f"bench-older-{hh.id}")
            payments.settle_bill_payment(s, till, payment, "zh_Hans")
        s.execute(update(PrintJob).where(PrintJob.status == "queued").values(status="printed"))
