"""Delivering alerts from the outbox: the log always, and a webhook when `[fleet] webhook_url` is set.

The outbox row is written in the alert's own transaction (kiosk.fleet.alerts), so an alert is never raised without
its delivery being owed. `deliver_due` claims each due row with a compare-and-set (so two kiosks delivering at once
do not both send it), sends it outside any transaction, then marks it delivered or schedules the next attempt with
backoff (BASE_S, doubling, at most MAX_BACKOFF_S). A notifier that is down only delays delivery: the rows wait, in
order, and nothing is dropped. Delivery is at least once (a kill between the POST and its mark sends it again):
the receiver de-duplicates by the `X-Kiosk-Delivery` header (the outbox row's id).

The webhook: `POST <url>` with the JSON body as stored, `Content-Type: application/json`, `X-Kiosk-Delivery: <id>`
and `X-Kiosk-Signature: sha256=<hex>`, the HMAC-SHA256 of the exact body bytes under `fleet_webhook_key` from
secrets.toml. Any 2xx answer is delivered; anything else (refused, timeout, 4xx, 5xx) is retried.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from kiosk.errors import ConfigError
from kiosk.fleet import dbtime
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import AlertOutbox

log = logging.getLogger(__name__)

BASE_S = 5.0
MAX_BACKOFF_S = 600.0
CLAIM_S = 60.0  # a claimed row is not tried by another deliverer for this long (its sender may be mid-POST)
TIMEOUT_S = 5.0
BATCH = 50

Send = Callable[[int, bytes], None]  # raises on failure


def signature(key: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def log_send(delivery: int, body: bytes) -> None:
    alert = json.loads(body)
    level = logging.WARNING if alert.get("event") == "raised" else logging.INFO
    log.log(level, "ALERT %s #%s %s %s%s: %s", alert.get("event"), alert.get("alert"), alert.get("kiosk") or "estate",
            alert.get("kind"), f" [{alert['subject']}]" if alert.get("subject") else "", alert.get("detail"))


def webhook_send(url: str, key: bytes, timeout_s: float = TIMEOUT_S) -> Send:
    def send(delivery: int, body: bytes) -> None:
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json", "X-Kiosk-Delivery": str(delivery),
            "X-Kiosk-Signature": signature(key, body)})
        with urllib.request.urlopen(request, timeout=timeout_s) as answer:  # noqa: S310 - the configured URL
            if not 200 <= answer.status < 300:
                raise OSError(f"HTTP {answer.status}")
        log_send(delivery, body)
    return send


def from_settings(settings: Any) -> Send:
    """The log, or the webhook (which also logs what it delivered) when `[fleet] webhook_url` is set."""
    url = settings.fleet.webhook_url
    if not url:
        return log_send
    key = settings.secrets.fleet_webhook_key if settings.secrets is not None else ""
    if not key:
        raise ConfigError("fleet_webhook_key missing", key="fleet_webhook_key in secrets.toml (needed by "
                                                          "[fleet] webhook_url)")
    return webhook_send(url, key.encode("utf-8"))


def backoff_s(attempts: int, base_s: float = BASE_S) -> float:
    return min(MAX_BACKOFF_S, base_s * 2 ** max(0, attempts - 1))


def _claim(session: Session, row: AlertOutbox, now: Any) -> bool:
    return bool(session.execute(
        update(AlertOutbox).where(AlertOutbox.id == row.id, AlertOutbox.delivered_at.is_(None),
                                  AlertOutbox.next_attempt_at == row.next_attempt_at)
        .values(next_attempt_at=now + timedelta(seconds=CLAIM_S), attempts=AlertOutbox.attempts + 1)
        .execution_options(synchronize_session=False)).rowcount)


def deliver_due(factory: sessionmaker[Session], send: Send, base_s: float = BASE_S) -> tuple[int, int]:
    """Send every due outbox row, oldest first; (delivered, failed). The first failure ends the round (the
    receiver is down: the rest waits its turn, in order)."""
    with unit_of_work(factory) as s:
        now = dbtime.now(s)
        due = [(r.id, r.next_attempt_at, r.body, r.attempts) for r in s.scalars(
            select(AlertOutbox).where(AlertOutbox.delivered_at.is_(None), AlertOutbox.next_attempt_at <= now)
            .order_by(AlertOutbox.id).limit(BATCH))]
    delivered = failed = 0
    for row_id, due_at, body, attempts in due:
        with unit_of_work(factory) as s:
            row = s.get(AlertOutbox, row_id)
            if row is None or row.delivered_at is not None or row.next_attempt_at != due_at:
                continue
            if not _claim(s, row, dbtime.now(s)):
                continue  # another deliverer has it
        try:
            send(row_id, body.encode("utf-8"))
        except (OSError, urllib.error.URLError, ValueError) as exc:
            failed += 1
            with unit_of_work(factory) as s:
                wait = backoff_s(attempts + 1, base_s)
                s.execute(update(AlertOutbox).where(AlertOutbox.id == row_id).values(
                    next_attempt_at=dbtime.now(s) + timedelta(seconds=wait), last_error=str(exc)[:300]))
            log.warning("alert delivery %d failed (attempt %d, next in %.0f s): %s", row_id, attempts + 1, wait, exc)
            break
        with unit_of_work(factory) as s:
            s.execute(update(AlertOutbox).where(AlertOutbox.id == row_id).values(delivered_at=dbtime.now(s),
                                                                                 last_error=""))
        delivered += 1
    return delivered, failed
