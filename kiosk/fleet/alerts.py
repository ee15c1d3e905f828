"""Alerts: one row per episode, raised and ended from the heartbeats and the estate's own facts.

Self-clearing (they end with their condition): `silent` (no heartbeat for `[fleet] silent_after_s`), `paper_out`,
`cover_open`, `device_down` (subject: the device). Sticky (staff clear them with a note, `clear`):
`cash_box_removed` (a removal not followed by a handover within HANDOVER_GRACE), `card_tampered` (subject: the
card's UID), `pin_lockouts` (`[fleet] pin_lockouts_alert` households locked out at once), `unknown_kiosk` (a
heartbeat from a code the estate does not know).

Episodes, not storms: a condition that comes back while its episode is open only moves `last_seen`; a
self-clearing episode is cleared only once its condition has been gone for CLEAR_AFTER_S, so a kiosk that flaps
stays one episode. A sticky episode cleared by staff while its condition lasts is raised again only after the
condition went away and came back.

Who evaluates: every live kiosk after each heartbeat (kiosk.fleet.agent), and `kiosk fleet watch` in the office.
Only one raises each episode: the partial unique index `uq_fleet_alerts_open` (kiosk, kind, subject WHERE
cleared_at IS NULL) makes the INSERT ... ON CONFLICT DO NOTHING of every other evaluator a no-op, and a clear is an
UPDATE ... WHERE cleared_at IS NULL whose row count says who cleared it; the outbox row (kiosk.fleet.notifier) is
written only by the winner, in the same transaction.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from kiosk.errors import AlertAlreadyCleared, AlertClearsItself, AlertNotFound, AlertNoteMissing
from kiosk.fleet import dbtime
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import AlertOutbox, Card, FleetAlert, Household, Kiosk, KioskHeartbeat
from kiosk.settings import FleetSettings

log = logging.getLogger(__name__)

CLEAR_AFTER_S = 90  # a self-clearing condition gone this long ends its episode (flapping stays one episode)
HANDOVER_GRACE = timedelta(minutes=10)  # a cash box taken out this long ago with no handover since: an alert


class Kind(StrEnum):
    SILENT = "silent"
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    DEVICE_DOWN = "device_down"
    CASH_BOX_REMOVED = "cash_box_removed"
    CARD_TAMPERED = "card_tampered"
    PIN_LOCKOUTS = "pin_lockouts"
    UNKNOWN_KIOSK = "unknown_kiosk"


STICKY = frozenset({Kind.CASH_BOX_REMOVED, Kind.CARD_TAMPERED, Kind.PIN_LOCKOUTS, Kind.UNKNOWN_KIOSK})
Key = tuple[str, str, str]  # kiosk code ("" for the estate), kind, subject


@dataclass(frozen=True)
class Changes:
    raised: tuple[int, ...] = ()
    cleared: tuple[int, ...] = ()


def conditions(session: Session, cfg: FleetSettings, now: datetime, handover_grace: timedelta = HANDOVER_GRACE
               ) -> tuple[dict[Key, str], set[str]]:
    """What is wrong now, by key, with its detail in words; and the kiosks whose device conditions are unknown
    (silent: their last heartbeat is stale, so their device episodes are neither raised nor ended)."""
    found: dict[Key, str] = {}
    silent: set[str] = set()
    for row in session.scalars(select(KioskHeartbeat)):
        code = row.kiosk_code
        age = (now - row.beat_at).total_seconds()
        if age > cfg.silent_after_s:
            found[(code, Kind.SILENT, "")] = f"no heartbeat for {int(age)} s"
            silent.add(code)
            continue
        devices = json.loads(row.devices or "{}")
        for name, dev in devices.items():
            if dev.get("state") == "down":
                found[(code, Kind.DEVICE_DOWN, name)] = f"{name} down: {dev.get('reason') or 'no reason given'}"
            if name == "printer" and dev.get("state") != "absent":
                if dev.get("paper") == "out":
                    found[(code, Kind.PAPER_OUT, "printer")] = "printer out of paper"
                if dev.get("cover_open"):
                    found[(code, Kind.COVER_OPEN, "printer")] = "printer cover open"
            removed = dev.get("box_removed_at") if name == "cash" else None
            if removed and now - datetime.fromisoformat(removed) >= handover_grace:
                found[(code, Kind.CASH_BOX_REMOVED, "")] = f"cash box removed at {removed} without a handover"
    for uid, reason in session.execute(select(Card.uid_hex, Card.flagged_reason).where(Card.flagged_reason != "")):
        found[("", Kind.CARD_TAMPERED, uid)] = f"card {uid} flagged: {reason}"
    locked = list(session.scalars(select(Household.unit_no).where(Household.pin_locked_until > now)
                                  .order_by(Household.unit_no)))
    if len(locked) >= cfg.pin_lockouts_alert:
        found[("", Kind.PIN_LOCKOUTS, "")] = f"{len(locked)} households locked out of their PIN: " + \
            ", ".join(locked[:20])
    return found, silent


def evaluate(session: Session, cfg: FleetSettings, clear_after_s: float = CLEAR_AFTER_S,
             handover_grace: timedelta = HANDOVER_GRACE) -> Changes:
    """Raise, touch, end and clear episodes from what is wrong now (one unit of work)."""
    now = dbtime.now(session)
    found, silent = conditions(session, cfg, now, handover_grace)
    live = list(session.scalars(select(FleetAlert).where(or_(
        FleetAlert.cleared_at.is_(None), (FleetAlert.sticky.is_(True)) & FleetAlert.ended_at.is_(None)))
        .order_by(FleetAlert.id)))
    latest: dict[Key, FleetAlert] = {}
    for episode in live:
        latest[(episode.kiosk_code, episode.kind, episode.subject)] = episode
    raised: list[int] = []
    cleared: list[int] = []
    for key, episode in latest.items():
        code, kind, _subject = key
        if key in found:
            if episode.cleared_at is None:
                episode.last_seen, episode.detail, episode.ended_at = now, found[key][:300], None
            continue
        if code in silent and kind != Kind.SILENT:
            continue  # what a silent kiosk's devices do now is unknown: neither raised nor ended
        if kind == Kind.UNKNOWN_KIOSK:
            continue  # raised by the refused heartbeat itself (flag_unknown_kiosk); staff clear it
        if episode.ended_at is None:
            episode.ended_at = now
        if episode.cleared_at is None and not episode.sticky and now - episode.ended_at >= \
                timedelta(seconds=clear_after_s):
            if _clear(session, episode, now, "condition ended", ""):
                cleared.append(episode.id)
    session.flush()
    for key, detail in found.items():
        episode = latest.get(key)
        if episode is not None and (episode.cleared_at is None or episode.ended_at is None):
            continue  # open, or cleared by staff while the condition lasted
        new = _raise(session, key, detail, now)
        if new is not None:
            raised.append(new)
    return Changes(tuple(raised), tuple(cleared))


def _raise(session: Session, key: Key, detail: str, now: datetime) -> int | None:
    code, kind, subject = key
    ins = dbtime.insert_for(session, FleetAlert).values(
        kiosk_code=code, kind=str(kind), subject=subject, sticky=kind in STICKY, detail=detail[:300],
        first_seen=now, last_seen=now, cleared_by="", note="")
    new = session.execute(ins.on_conflict_do_nothing(index_elements=["kiosk_code", "kind", "subject"],
                                                     index_where=text("cleared_at IS NULL"))
                          .returning(FleetAlert.id)).scalar()
    if new is None:
        return None  # another evaluator raised it first
    episode = session.get(FleetAlert, new)
    assert episode is not None
    _outbox(session, episode, "raised", now)
    log.info("alert %d raised: %s %s %s", new, code or "estate", kind, detail)
    return int(new)


def _clear(session: Session, episode: FleetAlert, now: datetime, by: str, note: str) -> bool:
    done = session.execute(update(FleetAlert).where(FleetAlert.id == episode.id, FleetAlert.cleared_at.is_(None))
                           .values(cleared_at=now, cleared_by=by[:80], note=note[:300])
                           .execution_options(synchronize_session=False)).rowcount
    if not done:
        return False  # another evaluator cleared it first
    session.refresh(episode)
    _outbox(session, episode, "cleared", now)
    return True


def body(episode: FleetAlert, event: str) -> dict[str, object]:
    def when(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {"alert": episode.id, "event": event, "kiosk": episode.kiosk_code, "kind": episode.kind,
            "subject": episode.subject, "sticky": episode.sticky, "detail": episode.detail,
            "first_seen": when(episode.first_seen), "last_seen": when(episode.last_seen),
            "cleared_at": when(episode.cleared_at), "cleared_by": episode.cleared_by, "note": episode.note}


def _outbox(session: Session, episode: FleetAlert, event: str, now: datetime) -> None:
    session.add(AlertOutbox(alert_id=episode.id, event=event, created_at=now, attempts=0, next_attempt_at=now,
                            last_error="", body=json.dumps(body(episode, event), ensure_ascii=False,
                                                           sort_keys=True)))


def flag_unknown_kiosk(factory: sessionmaker[Session], code: str) -> None:
    """A heartbeat from a kiosk code the estate does not know: a sticky alert (its last_seen moves while open)."""
    with unit_of_work(factory) as s:
        now = dbtime.now(s)
        detail = f"heartbeat refused from unknown kiosk code {code}"
        moved = s.execute(update(FleetAlert).where(FleetAlert.kiosk_code == code, FleetAlert.kind ==
                                                   str(Kind.UNKNOWN_KIOSK), FleetAlert.cleared_at.is_(None))
                          .values(last_seen=now).execution_options(synchronize_session=False)).rowcount
        if not moved:
            _raise(s, (code, Kind.UNKNOWN_KIOSK, ""), detail, now)


def clear(session: Session, alert_id: int, by: str, note: str) -> FleetAlert:
    """Staff clear a sticky alert with a note (audited)."""
    from kiosk.domain.site_clock import wall_text
    from kiosk.services import audit

    note = note.strip()
    if not 1 <= len(note) <= 300:
        raise AlertNoteMissing(f"note of {len(note)} characters")
    episode = session.get(FleetAlert, alert_id)
    if episode is None:
        raise AlertNotFound(str(alert_id), alert=alert_id)
    if not episode.sticky:
        raise AlertClearsItself(episode.kind, alert=alert_id)
    if episode.cleared_at is not None:
        raise AlertAlreadyCleared(str(alert_id), alert=alert_id, by=episode.cleared_by,
                                  at=wall_text(episode.cleared_at, "%Y-%m-%d %H:%M:%S"))
    now = dbtime.now(session)
    if not _clear(session, episode, now, by, note):
        session.refresh(episode)
        raise AlertAlreadyCleared(str(alert_id), alert=alert_id, by=episode.cleared_by,
                                  at=wall_text(episode.cleared_at, "%Y-%m-%d %H:%M:%S") if episode.cleared_at else "")
    audit.record(session, by, "alert.cleared", f"alert:{alert_id}", kind=episode.kind, kiosk=episode.kiosk_code,
                 note=note)
    return episode


def listing(session: Session, open_only: bool = False, limit: int = 200) -> list[FleetAlert]:
    query = select(FleetAlert).order_by(FleetAlert.cleared_at.is_(None).desc(), FleetAlert.id.desc()).limit(limit)
    if open_only:
        query = query.where(FleetAlert.cleared_at.is_(None))
    return list(session.scalars(query))


def kiosk_codes(session: Session) -> list[str]:
    return list(session.scalars(select(Kiosk.code).order_by(Kiosk.code)))


def open_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(FleetAlert).where(FleetAlert.cleared_at.is_(None)))
               or 0)
