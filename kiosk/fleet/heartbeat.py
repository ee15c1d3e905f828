"""Each kiosk's heartbeat: what the office needs to know about it, one row per kiosk code (upserted), stamped with
the database's clock.

`collect(rt, session)` reads the running kiosk (device supervisors, the printer's last status, the cash box from
the ledger since the last handover, queue depths, the last error code logged); `write(session, beat)` upserts it.
A kiosk code the database does not know is refused with UnknownKiosk (E8201): the caller raises an alert for it.
Nothing here runs on the UI thread: the fleet agent (kiosk.fleet.agent) calls it from its own thread.
"""
from __future__ import annotations

import json
import logging
import re
import socket
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.errors import UnknownKiosk
from kiosk.fleet import dbtime
from kiosk.persistence.models import CashEventRecord, DeviceEvent, InvoiceRequest, Kiosk, KioskHeartbeat

log = logging.getLogger(__name__)

NOTE_KINDS = ("stacked", "unattributed")  # cash_events rows that are a note in the box


class State(StrEnum):
    IN_SERVICE = "in_service"
    OUT_OF_SERVICE = "out_of_service"  # staff or the office took it out of service (the reason says which, why)
    MAINTENANCE = "maintenance"  # a technician or staff member is working on it (the staff pages)


@dataclass(frozen=True)
class Beat:
    kiosk_code: str
    version: str
    host: str
    uptime_s: int
    state: str
    state_reason: str = ""
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    queues: dict[str, int] = field(default_factory=dict)
    last_error: str = ""
    clock_offset_ms: int | None = None
    clock_sync: str = ""


def version() -> str:
    try:
        from importlib.metadata import version as installed

        return installed("estate-kiosk")[:40]
    except Exception:  # noqa: BLE001 - a kiosk run from a checkout that is not installed
        return "unknown"


class LastErrorCode(logging.Handler):
    """Remembers the last error code (E1234) the process logged at WARNING or above."""

    PATTERN = re.compile(r"\[(E\d{4})\]")

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.code = ""

    def emit(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        code = getattr(exc, "code", None)
        if isinstance(code, str) and code.startswith("E"):
            self.code = code
            return
        try:
            found = self.PATTERN.search(record.getMessage())
        except Exception:  # noqa: BLE001 - a record whose arguments do not format
            return
        if found:
            self.code = found.group(1)


def cash_box(session: Session, kiosk_id: int, capacity: int) -> dict[str, Any]:
    """Notes and value in the cash box since the last handover (the ledger's truth), whether it was removed
    since (a `stacker_removed` device event; removed_at for the sticky alert), and where the box is now (`box`:
    "removed" when the validator's newest box event is a removal, else "in"; kiosk.payments.cash_collector records
    them, between payments too)."""
    from kiosk.services.staff import expected_cash, last_handover_at

    since = last_handover_at(session, kiosk_id)
    notes = select(func.count()).select_from(CashEventRecord).where(
        CashEventRecord.kiosk_id == kiosk_id, CashEventRecord.kind.in_(NOTE_KINDS))
    removed = select(func.max(DeviceEvent.at)).where(DeviceEvent.kiosk_id == kiosk_id, DeviceEvent.device == "cash",
                                                     DeviceEvent.kind == "stacker_removed")
    if since is not None:
        notes = notes.where(CashEventRecord.at > since)
        removed = removed.where(DeviceEvent.at > since)
    removed_at: datetime | None = session.scalar(removed)
    count = int(session.scalar(notes) or 0)
    last_box_event = session.scalar(select(DeviceEvent.kind).where(
        DeviceEvent.kiosk_id == kiosk_id, DeviceEvent.device == "cash",
        DeviceEvent.kind.in_(("stacker_removed", "stacker_replaced"))).order_by(DeviceEvent.id.desc()).limit(1))
    return {"box_notes": count, "box_fen": expected_cash(session, kiosk_id, since, dbtime.now(session)),
            "box_capacity": capacity, "box_removed_at": removed_at.isoformat() if removed_at else None,
            "box": "removed" if last_box_event == "stacker_removed" else "in"}


def _devices(rt: Any, session: Session) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for health in rt.device_health():
        name = str(health.device)
        if name in ("clock", "database"):
            continue
        attached = name in rt.supervisors or (name == "gateway" and rt.devices.gateway is not None)
        out[name] = {"state": str(health.state) if attached else "absent", "reason": str(health.detail)}
    printer = out.get("printer")
    status = rt.spooler.last_status if rt.spooler is not None else None
    if printer is not None and status is not None:
        printer.update(online=bool(status.online), paper=str(status.paper.value), cover_open=bool(status.cover_open))
    reader = out.get("reader")
    if reader is not None:
        for key in ("last_tap_ms", "tap_p95_ms"):  # kiosk.runtime.card_watcher: arrival to read and verified
            latency = getattr(rt.card_watcher, key, None)
            reader[key] = int(latency) if latency is not None else None
    cash = out.get("cash")
    if cash is not None and cash["state"] != "absent":
        cash.update(cash_box(session, rt.till.kiosk_id, rt.settings.fleet.cash_box_notes))
    return out


def _queues(rt: Any, session: Session) -> dict[str, int]:
    from kiosk.invoices.states import PENDING
    from kiosk.services import print_queue

    queues = {"print_jobs": print_queue.count_by_status(session, rt.till.kiosk_id)[print_queue.QUEUED]}
    journal = rt.cash_journal
    queues["offline_cash_notes"] = len(journal.pending()) if journal is not None else 0
    queues["invoice_requests"] = int(session.scalar(
        select(func.count()).select_from(InvoiceRequest).where(InvoiceRequest.kiosk_id == rt.till.kiosk_id,
                                                               InvoiceRequest.state.in_([str(s) for s in PENDING])))
        or 0)
    return queues


def _state(rt: Any, session: Session) -> tuple[str, str]:
    kiosk = session.get(Kiosk, rt.till.kiosk_id)
    if getattr(rt, "maintenance", False):
        return State.MAINTENANCE, ""
    if kiosk is not None and kiosk.out_of_service:
        return State.OUT_OF_SERVICE, kiosk.out_of_service_reason
    return State.IN_SERVICE, ""


def collect(rt: Any, session: Session, uptime_s: float, last_error: str = "") -> Beat:
    """This kiosk now, as the office sees it."""
    state, reason = _state(rt, session)
    offset = rt.db_clock.offset_s if rt.db_clock is not None else None
    sync = getattr(rt, "clock_sync", None)  # issue 19's clock check: a plain text, taken as given
    return Beat(rt.till.kiosk_code, version(), socket.gethostname()[:255], int(uptime_s), state, reason[:200],
                _devices(rt, session), _queues(rt, session), last_error[:16],
                round(offset * 1000) if offset is not None else None,
                str(sync() if callable(sync) else sync or "")[:80])


def known_codes(session: Session) -> list[str]:
    return list(session.scalars(select(Kiosk.code).order_by(Kiosk.code)))


def write(session: Session, beat: Beat) -> datetime:
    """Upsert the kiosk's row with the database's now; UnknownKiosk when the estate has no kiosk with this code."""
    if session.scalar(select(Kiosk.id).where(Kiosk.code == beat.kiosk_code)) is None:
        raise UnknownKiosk(f"heartbeat from {beat.kiosk_code}", kiosk=beat.kiosk_code,
                           known=", ".join(known_codes(session)) or "-")
    at = dbtime.now(session)
    values = asdict(beat)
    values.update(beat_at=at, devices=json.dumps(beat.devices, ensure_ascii=False, sort_keys=True),
                  queues=json.dumps(beat.queues, sort_keys=True))
    ins = dbtime.insert_for(session, KioskHeartbeat).values(**values)
    session.execute(ins.on_conflict_do_update(index_elements=["kiosk_code"],
                                              set_={k: ins.excluded[k] for k in values if k != "kiosk_code"}))
    return at

