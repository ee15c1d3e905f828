"""Service bookings (phone, TV, broadband ...): am/pm date slots with a capacity, paid fee, ticket number."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from kiosk.domain.receipt import ReceiptItem, ReceiptKind
from kiosk.domain.site_clock import site_today
from kiosk.domain.terms import BOOKING_LABELS, AccountKind, BookingKind, EntryKind, FeeKind, PaymentMethod, PaymentPurpose
from kiosk.errors import AlreadyDone, InvalidEntry, NotFound, SlotUnavailable
from kiosk.i18n import N_, translate
from kiosk.persistence.models import Booking, Household, Payment, Site
from kiosk.services import audit, charges, ledger, payments
from kiosk.services.charges import FeeLine, actor_of
from kiosk.services.payments import PaymentOutcome, mask_unit
from kiosk.services.receipts import Till

PERIODS = ("am", "pm")
PERIOD_LABELS = {"am": N_("Morning"), "pm": N_("Afternoon")}
LIVE = ("pending", "booked")  # statuses that hold a place in a slot


@dataclass(frozen=True)
class SlotView:
    slot_date: date
    period: str  # "am" / "pm"
    label: str  # translated period name
    capacity: int
    taken: int

    @property
    def free(self) -> int:
        return max(self.capacity - self.taken, 0)


@dataclass(frozen=True)
class BookingOption:
    kind: str  # BookingKind
    label: str
    fee_fen: int


@dataclass(frozen=True)
class BookingResult:
    booking_id: int
    ticket_no: str
    kind: str
    slot_date: date
    period: str
    status: str
    outcome: PaymentOutcome | None


def booking_options(fees: Mapping[BookingKind | str, int], language: str) -> tuple[BookingOption, ...]:
    """Every bookable kind that has a fee configured, in the vocabulary's order."""
    return tuple(BookingOption(str(k), translate(BOOKING_LABELS[k], language), int(fees[k]))
                 for k in BookingKind if k in fees or str(k) in fees)


def slots(session: Session, site_id: int, first_day: date, days: int, capacity: int,
          language: str) -> tuple[SlotView, ...]:
    """am and pm for each day from `first_day`, with the places already taken at the site."""
    last = first_day + timedelta(days=days - 1)
    taken = dict(((d, p), n) for d, p, n in session.execute(
        select(Booking.slot_date, Booking.slot_period, func.count()).join(Household, Household.id == Booking.household_id)
        .where(Household.site_id == site_id, Booking.status.in_(LIVE), Booking.slot_date.between(first_day, last))
        .group_by(Booking.slot_date, Booking.slot_period)))
    return tuple(SlotView(first_day + timedelta(days=i), p, translate(PERIOD_LABELS[p], language), capacity,
                          int(taken.get((first_day + timedelta(days=i), p), 0)))
                 for i in range(days) for p in PERIODS)


def _taken(session: Session, site_id: int, slot_date: date, period: str, statuses: tuple[str, ...]) -> int:
    return int(session.scalar(select(func.count()).select_from(Booking).join(Household, Household.id == Booking.household_id)
                              .where(Household.site_id == site_id, Booking.slot_date == slot_date,
                                     Booking.slot_period == period, Booking.status.in_(statuses))) or 0)


def book(factory: sessionmaker[Session], till: Till, *, key: str, household_id: int, kind: BookingKind,
         slot_date: date, period: str, method: PaymentMethod, language: str, fees: Mapping[BookingKind | str, int],
         capacity: int, card_id: int | None = None, today: date | None = None,
         move_money: payments.MoveMoney | None = None, credit_fen: int = 0) -> BookingResult:
    """Reserve a place in the slot with the payment intent, take the fee (purpose BOOKING), issue the ticket.

    Raises SlotUnavailable when the slot is full (two kiosks racing for the last place: one wins),
    in the past, or not an am/pm slot. A failed payment gives the place back.
    """
    kind = BookingKind(kind)
    fee = fees.get(kind, fees.get(str(kind)))
    if fee is None:
        raise InvalidEntry(f"no fee configured for {kind}", field="booking kind")
    if period not in PERIODS:
        raise SlotUnavailable(f"period {period!r}")
    if slot_date <= (today or site_today()):
        raise SlotUnavailable(f"{slot_date} is not bookable any more")

    def start(session: Session) -> tuple[Payment, bool]:
        hh = charges.household(session, household_id)
        if payments.find_by_key(session, key) is None:
            # One writer at a time per site decides who gets the last place (PostgreSQL row lock;
            # SQLite already holds the database write lock).
            site = session.scalars(select(Site).where(Site.id == hh.site_id).with_for_update()).one()
            if _taken(session, site.id, slot_date, period, LIVE) >= capacity:
                raise SlotUnavailable(f"{slot_date} {period}")
        payment, replayed = charges.start_fee_payment(
            session, till, key=key, purpose=PaymentPurpose.BOOKING, method=method, household_id=household_id,
            lines=[FeeLine(str(FeeKind.BOOKING), translate(BOOKING_LABELS[kind], language), int(fee))],
            card_id=card_id, details={"kind": str(kind), "slot": f"{slot_date} {period}"},
            fingerprint={"kind": str(kind), "slot": f"{slot_date} {period}"}, credit_fen=credit_fen)
        if not replayed:
            site_code = session.get(Site, hh.site_id).code  # type: ignore[union-attr]
            number = _taken(session, hh.site_id, slot_date, period, ("pending", "booked", "cancelled")) + 1
            ticket = f"{site_code[:6]}{slot_date:%y%m%d}{'A' if period == 'am' else 'P'}-{number:03d}"
            session.add(Booking(household_id=household_id, kind=str(kind), slot_date=slot_date, slot_period=period,
                                ticket_no=ticket, fee_fen=int(fee), payment_id=payment.id, status="pending"))
            session.flush()
        return payment, replayed

    def settle(session: Session, payment: Payment) -> BookingResult:
        booking = _by_payment(session, payment.id)
        charges.collect(session, till, payment, EntryKind.BOOKING_FEE)
        booking.status = "booked"
        session.flush()
        audit.record(session, actor_of(till), "booking.booked", booking.ticket_no, kind=booking.kind,
                     slot=f"{booking.slot_date} {booking.slot_period}")
        hh = charges.household(session, household_id)
        label = translate(BOOKING_LABELS[kind], language)
        fields = ((translate(N_("Ticket number"), language), booking.ticket_no),
                  (translate(N_("Date"), language), booking.slot_date.isoformat()),
                  (translate(N_("Time slot"), language), translate(PERIOD_LABELS[booking.slot_period], language)),
                  (translate(N_("Reference"), language), payment.reference))
        out = payments.finish(session, till, payment, language, kind=ReceiptKind.BOOKING,
                              title=translate(N_("Service booking receipt"), language),
                              items=(ReceiptItem(label, payment.amount_fen),), household_label=mask_unit(hh.unit_no),
                              fields=fields, notes=payments.credit_notes(session, payment, language))
        return _result(booking, out)

    def replay(session: Session, payment: Payment) -> BookingResult:
        return _result(_by_payment(session, payment.id), payments.outcome(session, payment, replayed=True))

    def release(session: Session, payment: Payment) -> None:
        booking = _by_payment(session, payment.id)
        booking.status = "cancelled"
        session.flush()

    return charges.run(factory, till, key=key, start=start, settle=settle, replay=replay, on_fail=release,
                       move_money=move_money)


def cancel_booking(session: Session, till: Till, *, booking_id: int, household_id: int, actor: str,
                   today: date | None = None) -> BookingResult:
    """Cancel before the slot's day: the place is freed and the fee goes back as the household's credit."""
    booking = session.scalars(select(Booking).where(Booking.id == booking_id).with_for_update()).one_or_none()
    if booking is None or booking.household_id != household_id:
        raise NotFound(f"booking {booking_id}")
    if booking.status == "cancelled":
        raise AlreadyDone(booking.ticket_no)
    if booking.status != "booked" or booking.slot_date <= (today or site_today()):
        raise SlotUnavailable(f"{booking.ticket_no} can no longer be cancelled")
    booking.status = "cancelled"
    session.flush()
    revenue = ledger.account(session, AccountKind.REVENUE, fee_kind=FeeKind.BOOKING)
    credit = ledger.account(session, AccountKind.CREDIT, household_id=household_id)
    ledger.transfer(session, EntryKind.REFUND, revenue, credit, booking.fee_fen, payment_id=booking.payment_id,
                    kiosk_id=till.kiosk_id, memo=f"cancel {booking.ticket_no}")
    audit.record(session, actor, "booking.cancelled", booking.ticket_no, refunded_fen=booking.fee_fen)
    return _result(booking, None)


def household_bookings(session: Session, household_id: int) -> tuple[BookingResult, ...]:
    rows = session.scalars(select(Booking).where(Booking.household_id == household_id)
                           .order_by(Booking.slot_date.desc(), Booking.id.desc()))
    return tuple(_result(b, None) for b in rows)


def _by_payment(session: Session, payment_id: int) -> Booking:
    booking = session.scalars(select(Booking).where(Booking.payment_id == payment_id)).one_or_none()
    if booking is None:
        raise NotFound(f"booking of payment {payment_id}")
    return booking


def _result(booking: Booking, out: PaymentOutcome | None) -> BookingResult:
    return BookingResult(booking.id, booking.ticket_no, booking.kind, booking.slot_date, booking.slot_period,
                         booking.status, out)
