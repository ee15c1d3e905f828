"""Staff switch one feature off for the whole site, with a message residents read, and back on; both audited.

The rows live in the shared database, so every kiosk of the site follows (each reads them with its service
status). A feature the site does not offer at all is left out in its config instead (`site.features_not_offered`)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kiosk.domain.terms import SiteFeature
from kiosk.errors import InvalidEntry
from kiosk.persistence.db import insert_ignoring_conflict
from kiosk.persistence.models import FeatureSwitch, StaffUser, utcnow
from kiosk.services import audit

MAX_MESSAGE = 200


@dataclass(frozen=True)
class SwitchedOff:
    feature: SiteFeature
    message: str  # a msgid from the staff's list (translated on screen), or text typed at the CLI
    by: str  # the staff member's name
    since: datetime  # UTC


def _feature(name: str) -> SiteFeature:
    try:
        return SiteFeature(name)
    except ValueError as exc:
        raise InvalidEntry(f"unknown feature {name!r}", field="feature") from exc


def switched_off(session: Session, site_id: int) -> tuple[SwitchedOff, ...]:
    """The site's switched-off features, in the order of SiteFeature."""
    rows = session.execute(
        select(FeatureSwitch, StaffUser.name).join(StaffUser, StaffUser.id == FeatureSwitch.switched_off_by)
        .where(FeatureSwitch.site_id == site_id)).all()
    found = {row.feature: SwitchedOff(SiteFeature(row.feature), row.message, name, row.switched_off_at)
             for row, name in rows if row.feature in {str(f) for f in SiteFeature}}
    return tuple(found[str(f)] for f in SiteFeature if str(f) in found)


def switch_off(session: Session, site_id: int, staff_id: int, staff_name: str, feature: str,
               message: str) -> SwitchedOff:
    """Switch `feature` off at the site with `message`; switching it off again replaces the message."""
    which = _feature(feature)
    message = message.strip()
    if not message:
        raise InvalidEntry("a message for residents is needed", field="message")
    message = message[:MAX_MESSAGE]
    now = utcnow()
    insert_ignoring_conflict(session, FeatureSwitch, site_id=site_id, feature=str(which), message=message,
                             switched_off_by=staff_id, switched_off_at=now)
    row = session.scalars(select(FeatureSwitch).where(FeatureSwitch.site_id == site_id,
                                                      FeatureSwitch.feature == str(which))
                          .with_for_update()).one()
    row.message, row.switched_off_by, row.switched_off_at = message, staff_id, now
    audit.record(session, f"staff:{staff_name}", "feature.switched_off", f"feature:{which}", message=message)
    return SwitchedOff(which, message, staff_name, now)


def switch_on(session: Session, site_id: int, staff_name: str, feature: str) -> bool:
    """Switch `feature` back on; False (and nothing audited) when it was not off."""
    which = _feature(feature)
    gone = session.execute(delete(FeatureSwitch).where(FeatureSwitch.site_id == site_id,
                                                       FeatureSwitch.feature == str(which))).rowcount
    if gone:
        audit.record(session, f"staff:{staff_name}", "feature.switched_on", f"feature:{which}")
    return bool(gone)
