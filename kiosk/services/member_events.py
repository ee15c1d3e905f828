"""Member events: which events a tier may see, and signing a household up (capacity, once per household)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from kiosk.errors import AlreadyDone, NotFound, SlotUnavailable
from kiosk.persistence.models import EventSignup, MemberEvent, utcnow
from kiosk.services import audit, charges
from kiosk.services.households import household_tier


@dataclass(frozen=True)
class EventView:
    event_id: int
    title: str
    starts_at: datetime
    capacity: int
    taken: int
    audience_tier: str | None
    place: str = ""
    description: str = ""
    ends_at: datetime | None = None

    @property
    def free(self) -> int:
        return max(self.capacity - self.taken, 0)


@dataclass(frozen=True)
class SignupResult:
    signup_id: int
    event_id: int
    reference: str


def _title(event: MemberEvent, language: str) -> str:
    return _text(event, "title", language)


def _text(event: MemberEvent, field: str, language: str) -> str:
    """A field in `language` (title, place, description), the Simplified Chinese text when it has none."""
    hans = getattr(event, f"{field}_zh_hans")
    column = {"zh_Hans": "zh_hans", "zh_Hant": "zh_hant", "en": "en"}.get(language, "zh_hans")
    return getattr(event, f"{field}_{column}") or hans


def _taken(session: Session, event_id: int) -> int:
    return int(session.scalar(select(func.count()).select_from(EventSignup).where(EventSignup.event_id == event_id)) or 0)


def visible_events(session: Session, site_id: int, tier: str | None, language: str,
                   now: datetime | None = None) -> tuple[EventView, ...]:
    """Upcoming events for `tier`: those for everyone (audience None) and those for that tier."""
    now = now or utcnow()
    audience = MemberEvent.audience_tier.is_(None)
    if tier is not None:
        audience = or_(audience, MemberEvent.audience_tier == tier)
    rows = session.scalars(select(MemberEvent).where(MemberEvent.site_id == site_id, MemberEvent.starts_at > now, audience)
                           .order_by(MemberEvent.starts_at, MemberEvent.id)).all()
    return tuple(EventView(e.id, _title(e, language), e.starts_at, e.capacity, _taken(session, e.id), e.audience_tier,
                           _text(e, "place", language), _text(e, "description", language), e.ends_at)
                 for e in rows)


def sign_up(session: Session, *, event_id: int, household_id: int, actor: str,
            now: datetime | None = None) -> SignupResult:
    """One place per household; refused when full, started, or meant for another tier."""
    now = now or utcnow()
    event = session.scalars(select(MemberEvent).where(MemberEvent.id == event_id).with_for_update()).one_or_none()
    hh = charges.household(session, household_id)
    if event is None or event.site_id != hh.site_id:
        raise NotFound(f"event {event_id}")
    if event.audience_tier is not None and event.audience_tier != household_tier(session, household_id):
        raise NotFound(f"event {event_id} is for {event.audience_tier} members")
    if event.starts_at <= now:
        raise SlotUnavailable(f"event {event_id} has started")
    if session.scalars(select(EventSignup).where(EventSignup.event_id == event_id,
                                                 EventSignup.household_id == household_id)).first() is not None:
        raise AlreadyDone(f"household {household_id} is signed up for event {event_id}")
    if _taken(session, event_id) >= event.capacity:
        raise SlotUnavailable(f"event {event_id} is full")
    signup = EventSignup(event_id=event_id, household_id=household_id, created_at=now)
    session.add(signup)
    session.flush()
    reference = f"E{event_id:04d}-{signup.id:05d}"
    audit.record(session, actor, "event.signed_up", reference, event=event_id, household=hh.unit_no)
    return SignupResult(signup.id, event_id, reference)
