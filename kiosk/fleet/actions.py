"""Remote actions from the office: rows of `fleet_actions` a kiosk picks up on its next poll, applied once.

`send` (the office) checks the kiosk exists (UnknownKiosk, E8201) and that a pause has its message (E8206), and
audits who sent it. `apply_pending` (the kiosk, from the fleet agent's thread every `[fleet] action_poll_s`) applies
each pending row in order, marking it applied in the same transaction as its effect when the effect is in the
database (pause, resume), or before it when it is not (reload, restart: at most once, never twice):

- pause: the kiosk's out-of-service flag with the message (the page staff use, kiosk.flows.service_state);
- resume: the flag off;
- reload-notices: the local copy of the public pages refreshed, the first page reloaded;
- reload-config: the settings files checked; if they load, the app restarts with them, else the action is
  refused with the error (the kiosk keeps running on its current settings);
- restart: the app ends cleanly and the service manager starts it again (Restart=always).

A pause never interrupts a resident: the screens read the flag when the first page loads, i.e. when the session
ends (an idle kiosk reloads its first page at once: ServiceStateChanged). A restart waits for an idle kiosk the
same way (the window's `on_restart`); a kiosk without a window ends at once.
"""
from __future__ import annotations

import logging
import os
import signal
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kiosk.errors import ActionMessageInvalid, KioskError, UnknownKiosk
from kiosk.fleet import dbtime
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import FleetAction, Kiosk

log = logging.getLogger(__name__)


class Action(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    RELOAD_NOTICES = "reload-notices"
    RELOAD_CONFIG = "reload-config"
    RESTART = "restart"


@dataclass(frozen=True)
class ServiceStateChanged:
    """On the bus: the office paused, resumed or reloaded this kiosk; an idle first page reloads."""

    action: str


def send(session: Session, kiosk_code: str, action: Action, message: str, by: str) -> FleetAction:
    from kiosk.services import audit

    if session.scalar(select(Kiosk.id).where(Kiosk.code == kiosk_code)) is None:
        known = ", ".join(session.scalars(select(Kiosk.code).order_by(Kiosk.code))) or "-"
        raise UnknownKiosk(f"action for {kiosk_code}", kiosk=kiosk_code, known=known)
    message = message.strip()
    if action is Action.PAUSE and not 1 <= len(message) <= 200:
        raise ActionMessageInvalid(f"message of {len(message)} characters")
    row = FleetAction(kiosk_code=kiosk_code, action=str(action), message=message[:200], sent_by=by[:80],
                      sent_at=dbtime.now(session), outcome="")
    session.add(row)
    session.flush()
    audit.record(session, by, "fleet.action.sent", f"kiosk:{kiosk_code}", remote_action=str(action),
                 message=message, id=row.id)
    return row


def listing(session: Session, kiosk_code: str | None = None, limit: int = 50) -> list[FleetAction]:
    query = select(FleetAction).order_by(FleetAction.id.desc()).limit(limit)
    if kiosk_code:
        query = query.where(FleetAction.kiosk_code == kiosk_code)
    return list(session.scalars(query))


def _mark(session: Session, row_id: int, outcome: str) -> bool:
    return bool(session.execute(
        update(FleetAction).where(FleetAction.id == row_id, FleetAction.applied_at.is_(None))
        .values(applied_at=dbtime.now(session), outcome=outcome[:200])
        .execution_options(synchronize_session=False)).rowcount)


def _set_service(session: Session, rt: Any, row: FleetAction, paused: bool) -> None:
    from kiosk.services import audit

    kiosk = session.get(Kiosk, rt.till.kiosk_id)
    assert kiosk is not None
    kiosk.out_of_service, kiosk.out_of_service_reason = paused, row.message[:200] if paused else ""
    audit.record(session, row.sent_by, "kiosk.out_of_service" if paused else "kiosk.in_service",
                 f"kiosk:{rt.till.kiosk_code}", reason=row.message, remote_action=row.id)


def _config_loads(rt: Any) -> str:
    """'' when the settings files load as they are now; else the error's line."""
    from kiosk import settings as settings_mod

    sources = [p for p in rt.settings.sources[1:] if not p.endswith(settings_mod.TECHNICIAN_FILE)]
    try:
        settings_mod.load(rt.settings.data_dir, sources[0] if sources else None, db_url=rt.settings.database.url)
    except KioskError as exc:
        return str(exc)
    return ""


def restart(rt: Any, reason: str) -> None:
    """End the app cleanly for the service manager to start it again: through the window when there is one (it
    waits for an idle kiosk), else at once."""
    handler = getattr(rt, "on_restart", None)
    if callable(handler):
        handler(reason)
        return
    log.warning("restarting: %s", reason)
    os.kill(os.getpid(), signal.SIGTERM)


def apply_pending(rt: Any) -> list[tuple[int, str, str]]:
    """Apply this kiosk's pending actions, oldest first: [(id, action, outcome)]."""
    code = rt.till.kiosk_code
    with unit_of_work(rt.db.factory) as s:
        pending = [r.id for r in s.scalars(select(FleetAction).where(FleetAction.kiosk_code == code,
                                                                     FleetAction.applied_at.is_(None))
                                           .order_by(FleetAction.id))]
    done: list[tuple[int, str, str]] = []
    for row_id in pending:
        after = ""
        with unit_of_work(rt.db.factory) as s:
            row = s.get(FleetAction, row_id)
            if row is None or row.applied_at is not None:
                continue
            action = row.action
            if action in (Action.PAUSE, Action.RESUME):
                _set_service(s, rt, row, action == Action.PAUSE)
                outcome = "paused: applies when the current session ends" if action == Action.PAUSE else "resumed"
                after = "state"
            elif action == Action.RELOAD_NOTICES:
                outcome, after = "notices reloaded", "notices"
            elif action == Action.RELOAD_CONFIG:
                problem = _config_loads(rt)
                outcome, after = (f"refused: {problem}", "") if problem else ("settings load; restarting", "restart")
            elif action == Action.RESTART:
                outcome, after = "restarting", "restart"
            else:
                outcome = f"refused: unknown action {action!r}"
            if not _mark(s, row_id, outcome):
                continue  # applied meanwhile (a second poller of this code would be a second kiosk: E1013)
            sent_by = row.sent_by
        log.warning("office action %d %s from %s: %s", row_id, action, sent_by, outcome)
        done.append((row_id, action, outcome))
        if after == "notices" and rt.offline is not None:
            rt.offline.refresh_cache()
        if after in ("state", "notices"):
            rt.bus.publish(ServiceStateChanged(action))
        if after == "restart":
            restart(rt, f"office action {row_id} ({action}) from {sent_by}")
            break  # what follows waits for the next start
    return done
