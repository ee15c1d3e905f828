"""Parking: a household's spaces, monthly rent paid for N months, free spaces, applications to rent or buy."""
from __future__ import annotations

import calendar
import json
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kiosk.domain.receipt import ReceiptItem, ReceiptKind
from kiosk.domain.site_clock import site_today
from kiosk.domain.terms import FEE_LABELS, EntryKind, FeeKind, ParkingState, PaymentMethod, PaymentPurpose
from kiosk.errors import AlreadyDone, InvalidEntry, NotFound, SlotUnavailable
from kiosk.i18n import N_, translate
from kiosk.persistence.models import ParkingApplication, ParkingSpace, Payment, utcnow
from kiosk.services import audit, charges, payments
from kiosk.services.charges import FeeLine, actor_of
from kiosk.services.payments import PaymentOutcome, mask_unit
from kiosk.services.receipts import Till
from kiosk.services.references import unused_reference

MAX_MONTHS = 24


@dataclass(frozen=True)
class SpaceView:
    space_id: int
    code: str
    zone: str
    state: str  # ParkingState
    monthly_rent_fen: int
    price_fen: int
    paid_until: date | None


@dataclass(frozen=True)
class RentResult:
    space_id: int
    months: int
    paid_until: date
    outcome: PaymentOutcome


@dataclass(frozen=True)
class ApplicationResult:
    application_id: int
    reference: str
    space_code: str
    mode: str  # rent / buy


def add_months(day: date, months: int) -> date:
    """Same day `months` later, clamped to the month's end (Jan 31 + 1 month = Feb 28/29)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def household_spaces(session: Session, household_id: int) -> tuple[SpaceView, ...]:
    rows = session.scalars(select(ParkingSpace).where(ParkingSpace.holder_household_id == household_id)
                           .order_by(ParkingSpace.code))
    return tuple(_view(s) for s in rows)


def free_spaces(session: Session, site_id: int) -> tuple[SpaceView, ...]:
    rows = session.scalars(select(ParkingSpace).where(ParkingSpace.site_id == site_id,
                                                      ParkingSpace.state == str(ParkingState.FREE))
                           .order_by(ParkingSpace.zone, ParkingSpace.code))
    return tuple(_view(s) for s in rows)


def pay_rent(factory: sessionmaker[Session], till: Till, *, key: str, household_id: int, space_id: int, months: int,
             method: PaymentMethod, language: str, card_id: int | None = None, today: date | None = None,
             move_money: payments.MoveMoney | None = None, credit_fen: int = 0) -> RentResult:
    """Pay N months of a rented space (purpose PARKING); paid_until moves on from itself, or from today
    when it has lapsed. The previous date is kept on the payment so a void can put it back."""
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= MAX_MONTHS:
        raise InvalidEntry(f"months {months!r}", field="months")
    label = translate(FEE_LABELS[FeeKind.PARKING], language)

    def start(session: Session) -> tuple[Payment, bool]:
        space = session.get(ParkingSpace, space_id)
        if space is None or space.holder_household_id != household_id:
            raise NotFound(f"space {space_id} of household {household_id}")
        if space.state != ParkingState.RENTED and payments.find_by_key(session, key) is None:
            raise InvalidEntry(f"space {space.code} is {space.state}, not rented", field="space")
        return charges.start_fee_payment(
            session, till, key=key, purpose=PaymentPurpose.PARKING, method=method, household_id=household_id,
            lines=[FeeLine(str(FeeKind.PARKING), f"{label} {space.code} x{months}", space.monthly_rent_fen * months)],
            card_id=card_id, details={"space_id": space.id, "months": months},
            fingerprint={"space": space.id, "months": months}, credit_fen=credit_fen)

    def settle(session: Session, payment: Payment) -> RentResult:
        space = session.scalars(select(ParkingSpace).where(ParkingSpace.id == space_id).with_for_update()).one()
        charges.collect(session, till, payment, EntryKind.PARKING_FEE)
        base_day = today or site_today()
        previous = space.paid_until
        base = previous if previous is not None and previous >= base_day else base_day
        space.paid_until = add_months(base, months)
        payment.details = json.dumps({"space_id": space.id, "months": months,
                                      "previous_paid_until": previous.isoformat() if previous else None,
                                      "paid_until": space.paid_until.isoformat()}, sort_keys=True)
        session.flush()
        audit.record(session, actor_of(till), "parking.rent_paid", space.code, months=months,
                     paid_until=space.paid_until.isoformat())
        hh = charges.household(session, household_id)
        fields = ((translate(N_("Parking space"), language), space.code),
                  (translate(N_("Months"), language), str(months)),
                  (translate(N_("Paid until"), language), space.paid_until.isoformat()),
                  (translate(N_("Reference"), language), payment.reference))
        out = payments.finish(session, till, payment, language, kind=ReceiptKind.PARKING,
                              title=translate(N_("Parking rent receipt"), language),
                              items=(ReceiptItem(label, payment.amount_fen, f"{space.code} x{months}"),),
                              household_label=mask_unit(hh.unit_no), fields=fields,
                              notes=payments.credit_notes(session, payment, language))
        return RentResult(space.id, months, space.paid_until, out)

    def replay(session: Session, payment: Payment) -> RentResult:
        details = json.loads(payment.details)
        until = details.get("paid_until")
        return RentResult(space_id, int(details["months"]), date.fromisoformat(until) if until else base_or_today(),
                          payments.outcome(session, payment, replayed=True))

    def base_or_today() -> date:
        return today or site_today()

    return charges.run(factory, till, key=key, start=start, settle=settle, replay=replay, move_money=move_money)


def apply(session: Session, till: Till, *, household_id: int, space_id: int, mode: str,
          actor: str | None = None) -> ApplicationResult:
    """Apply to rent or buy a free space: a reference number for staff. One open application per
    household and space."""
    if mode not in ("rent", "buy"):
        raise InvalidEntry(f"mode {mode!r}", field="mode")
    space = session.get(ParkingSpace, space_id)
    if space is None:
        raise NotFound(f"space {space_id}")
    if space.state != ParkingState.FREE:
        raise SlotUnavailable(f"space {space.code} is {space.state}")
    charges.household(session, household_id)
    open_one = session.scalars(select(ParkingApplication).where(
        ParkingApplication.space_id == space_id, ParkingApplication.household_id == household_id,
        ParkingApplication.status == "submitted")).first()
    if open_one is not None:
        raise AlreadyDone(open_one.reference)
    app = ParkingApplication(space_id=space.id, household_id=household_id, kind=mode,
                             reference=unused_reference(session, ParkingApplication.reference, "A", utcnow()),
                             status="submitted")
    session.add(app)
    session.flush()
    audit.record(session, actor or actor_of(till), "parking.applied", app.reference, space=space.code, mode=mode)
    return ApplicationResult(app.id, app.reference, space.code, mode)


def _view(space: ParkingSpace) -> SpaceView:
    return SpaceView(space.id, space.code, space.zone, space.state, space.monthly_rent_fen, space.price_fen,
                     space.paid_until)
