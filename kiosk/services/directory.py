"""The site's phone directory: residents see public entries only; staff-only numbers never reach them."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.persistence.models import DirectoryEntry


@dataclass(frozen=True)
class DirectoryLine:
    entry_id: int
    name: str
    phone: str
    public: bool
    kind: str = ""  # service, repairs, security, parking, clinic, gas ... ('' not said)
    hours: str = ""  # "08:00-20:00", "24h" (all day), "" (not said)


def _name(entry: DirectoryEntry, language: str) -> str:
    return {"zh_Hans": entry.name_zh_hans, "zh_Hant": entry.name_zh_hant, "en": entry.name_en}.get(
        language, entry.name_zh_hans) or entry.name_zh_hans


def public_directory(session: Session, site_id: int, language: str) -> tuple[DirectoryLine, ...]:
    """What the kiosk shows to anyone: the filter is in the query, so staff-only rows are never loaded."""
    rows = session.scalars(select(DirectoryEntry).where(DirectoryEntry.site_id == site_id,
                                                        DirectoryEntry.public.is_(True))
                           .order_by(DirectoryEntry.sort_order, DirectoryEntry.id))
    return tuple(DirectoryLine(r.id, _name(r, language), r.phone, True, r.kind, r.hours) for r in rows)


def staff_directory(session: Session, site_id: int, language: str) -> tuple[DirectoryLine, ...]:
    """Every entry, for signed-in staff only (the caller checks the role)."""
    rows = session.scalars(select(DirectoryEntry).where(DirectoryEntry.site_id == site_id)
                           .order_by(DirectoryEntry.sort_order, DirectoryEntry.id))
    return tuple(DirectoryLine(r.id, _name(r, language), r.phone, r.public, r.kind, r.hours) for r in rows)
