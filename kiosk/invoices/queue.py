"""The durable invoice queue: which requests and red letters are due, and claiming them so one worker talks to the
provider about a row at a time.

A claim is two columns on the row (`claimed_by`, `claimed_until`), set in a short transaction that picks due rows
with SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL (SQLite takes its write lock for the whole transaction, which
serializes claims just as well). Two workers racing on one queue therefore never get the same row: the second
skips the rows the first has locked, and after the commit sees them claimed. No lock is held while the provider
is called. A claim lapses after its lease; a claim held by a process of this host that no longer runs (the kiosk
was killed) lapses at once (`release_dead_claims`). A row found in `sending` with a lapsed claim was perhaps sent:
it becomes `unknown` and is resolved by querying its order number, never sent under a new one.

Every comparison of claim and due times uses the database's clock (several kiosks share the queue).
"""
from __future__ import annotations

import os
import socket
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import or_, select, text
from sqlalchemy.orm import Session

from kiosk.invoices.states import RED_WORKABLE, WORKABLE, InvoiceState, RedState
from kiosk.persistence.db import is_postgres
from kiosk.persistence.models import InvoiceRequest, RedLetter, utcnow

HOST = socket.gethostname()[:40]


def worker_name(label: str = "") -> str:
    """`host:pid:label`: unique per worker thread, and says which process on which host holds a claim."""
    return f"{HOST}:{os.getpid()}:{label}"[:80]


def db_now(session: Session) -> datetime:
    """The database's clock (PostgreSQL's clock_timestamp(); SQLite lives on this machine: its clock is ours)."""
    if is_postgres(session):
        value = session.execute(text("SELECT clock_timestamp()")).scalar_one()
        return value.astimezone(timezone.utc)
    return utcnow()


@dataclass(frozen=True)
class Claim:
    red: bool  # a red letter (RedLetter) or a blue request (InvoiceRequest)
    row_id: int
    order_no: str
    action: str  # "send" (never sent, or known not received) or "query" (the provider may hold it)


def _due(model: Any, workable: tuple[Any, ...], now: datetime, everything: bool) -> Any:
    free = or_(model.claimed_until.is_(None), model.claimed_until <= now)
    states = [str(s) for s in workable if s != "sending"]
    stale_sending = (model.state == "sending") & (model.claimed_until <= now)
    due = model.state.in_(states) if everything else model.state.in_(states) & (model.next_attempt_at <= now)
    return free & (due | stale_sending)


def claim(session: Session, worker: str, *, limit: int = 8, lease_s: float = 60.0, everything: bool = False,
          red: bool | None = None, skip: Collection[tuple[bool, int]] = ()) -> list[Claim]:
    """Claim up to `limit` due rows (red letters first: a reversal waits on nobody), oldest due first.
    `everything` ignores the due time (`kiosk invoice sync`: ask about everything pending once); `skip` leaves
    out rows (red?, id) already talked about in this pass."""
    now = db_now(session)
    until = now + timedelta(seconds=lease_s)
    out: list[Claim] = []
    for is_red, model, workable in ((True, RedLetter, RED_WORKABLE), (False, InvoiceRequest, WORKABLE)):
        if red is not None and red != is_red:
            continue
        if len(out) >= limit:
            break
        skipped = [row_id for is_red_row, row_id in skip if is_red_row == is_red]
        query = (select(model).where(_due(model, workable, now, everything), model.id.not_in(skipped))
                 .order_by(model.next_attempt_at, model.id).limit(limit - len(out)))
        if is_postgres(session):
            query = query.with_for_update(skip_locked=True)
        for row in session.scalars(query).all():
            if row.state == "sending":  # a claim lapsed mid-send (crash, hang): perhaps sent, ask
                row.state = str(InvoiceState.UNKNOWN if not is_red else RedState.UNKNOWN)
            action = "send" if row.state == "queued" else "query"
            if action == "send":
                row.state = "sending"
            row.claimed_by, row.claimed_until = worker[:80], until
            out.append(Claim(is_red, row.id, row.order_no, action))
    session.flush()
    return out


def release_dead_claims(session: Session) -> int:
    """Claims held by processes of this host that are gone lapse now (a killed kiosk's rows are resolved at
    once on restart, not after the lease). Returns how many."""
    now = db_now(session)
    count = 0
    for model in (InvoiceRequest, RedLetter):
        held = session.scalars(select(model).where(model.claimed_by != "", model.claimed_until > now)
                               .with_for_update()).all()
        for row in held:
            if row.claimed_by.split(":")[0] != HOST:  # another host's process: its lease decides
                continue
            pid = _pid_of(row.claimed_by)
            if pid is not None and not _alive(pid):
                row.claimed_until = now
                count += 1
    session.flush()
    return count


def next_due_in(session: Session, cap_s: float) -> float:
    """Seconds until the next row falls due and is free (cap_s when nothing waits sooner): how long an idle
    worker may sleep. A row claimed by another worker counts from the end of that claim."""
    now = db_now(session)
    soonest: datetime | None = None
    for model, workable in ((RedLetter, RED_WORKABLE), (InvoiceRequest, WORKABLE)):
        rows = session.execute(select(model.next_attempt_at, model.claimed_until)
                               .where(model.state.in_([str(s) for s in workable]))
                               .order_by(model.next_attempt_at).limit(64)).all()
        for due, held in rows:
            moments = [m for m in (due, held) if m is not None]
            if moments and (soonest is None or max(moments) < soonest):
                soonest = max(moments)
    if soonest is None:
        return cap_s
    return max(0.0, min(cap_s, (soonest - now).total_seconds()))


def _pid_of(claimed_by: str) -> int | None:
    parts = claimed_by.split(":")
    try:
        return int(parts[1]) if len(parts) >= 2 else None
    except ValueError:
        return None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
