"""Printer conditions kept as DeviceEvent rows: written when the condition changes, read back for staff mode."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.persistence.models import DeviceEvent
from kiosk.printing.events import PrinterCondition

KINDS = tuple(str(c) for c in PrinterCondition)


@dataclass(frozen=True)
class PrinterEvent:
    at: datetime
    device: str
    condition: PrinterCondition  # READY = the printer recovered
    detail: str  # the printer's own words


def record(session: Session, kiosk_id: int | None, device: str, condition: PrinterCondition, detail: str) -> None:
    session.add(DeviceEvent(kiosk_id=kiosk_id, device=device[:16], kind=str(condition), detail=detail[:300]))
    session.flush()


def recent(session: Session, kiosk_id: int, limit: int = 20) -> tuple[PrinterEvent, ...]:
    """The kiosk's latest printer conditions, newest first."""
    rows = session.scalars(select(DeviceEvent).where(DeviceEvent.kiosk_id == kiosk_id, DeviceEvent.kind.in_(KINDS))
                           .order_by(DeviceEvent.id.desc()).limit(limit))
    return tuple(PrinterEvent(r.at, r.device, PrinterCondition(r.kind), r.detail) for r in rows)


def current(session: Session, kiosk_id: int) -> PrinterEvent | None:
    """The alert still standing (the latest condition when it is not READY), e.g. after a restart."""
    latest = recent(session, kiosk_id, limit=1)
    return latest[0] if latest and latest[0].condition is not PrinterCondition.READY else None
