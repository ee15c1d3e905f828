"""The local copy of what needs no sign-in: notices, the phone directory, member events, per language.

Every time the real services read one of them from the estate database for the public (no household signed in)
the result is kept here, in `<data dir>/public-cache.json` (0600, rewritten atomically and only when it changed
or the refresh time is a minute old), with the time of the last refresh. While the database is gone the
facade answers from this copy, and the pages say when it was refreshed (kiosk.app_runtime.offline).
"""
from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from kiosk.domain.site_clock import to_site
from kiosk.flows.attract_snapshot import _decode_notice, _encode_notice
from kiosk.flows.records import DirectoryEntry, MemberEventView, NoticeView
from kiosk.private_files import write_private_text

log = logging.getLogger(__name__)
FILE_NAME = "public-cache.json"
VERSION = 1
STAMP_EVERY = timedelta(minutes=1)  # an unchanged copy is rewritten at most this often, for its refresh time


def cache_path(data_dir: Path) -> Path:
    return Path(data_dir) / FILE_NAME


class PublicCache:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self.refreshed_at: datetime | None = None
        self._data: dict[str, dict[str, list[dict[str, Any]]]] = {"notices": {}, "directory": {}, "events": {}}
        self._read()

    def _read(self) -> None:
        if not self.path.exists():
            return
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            if raw.get("version") != VERSION:
                raise ValueError(f"version {raw.get('version')!r}")
            self._data = {k: dict(raw[k]) for k in ("notices", "directory", "events")}
            self.refreshed_at = datetime.fromisoformat(raw["refreshed_at"]) if raw.get("refreshed_at") else None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("%s is unreadable (%s); no local copy until the database answers", self.path, exc)

    # --- kept ----------------------------------------------------------------------------------------
    def keep_notices(self, language: str, notices: tuple[NoticeView, ...]) -> None:
        self._keep("notices", language, [_encode_notice(n) for n in notices])

    def keep_directory(self, language: str, entries: tuple[DirectoryEntry, ...]) -> None:
        self._keep("directory", language, [{"name": e.name, "phone": e.phone, "category": e.category,
                                            "hours": e.hours} for e in entries])

    def keep_events(self, language: str, events: tuple[MemberEventView, ...]) -> None:
        self._keep("events", language, [{
            "event_id": e.event_id, "title": e.title, "starts_at": e.starts_at.isoformat(), "place": e.place,
            "seats_left": e.seats_left, "description": e.description, "audience_tier": e.audience_tier,
            "ends_at": e.ends_at.isoformat() if e.ends_at else None} for e in events])

    def _keep(self, part: str, language: str, items: list[dict[str, Any]]) -> None:
        now = datetime.now(timezone.utc)
        with self._lock:
            changed = self._data[part].get(language) != items
            stale = self.refreshed_at is None or now - self.refreshed_at >= STAMP_EVERY
            self._data[part][language] = items
            self.refreshed_at = now
            if not (changed or stale):
                return
            text = json.dumps({"version": VERSION, "refreshed_at": now.isoformat(), **self._data},
                              ensure_ascii=False, indent=1) + "\n"
            try:
                write_private_text(self.path, text)
            except OSError as exc:  # a full disk costs only the copy used while the database is gone
                log.warning("could not save %s: %s", self.path, exc)

    # --- read back -----------------------------------------------------------------------------------
    def notices(self, language: str, now: datetime) -> tuple[NoticeView, ...] | None:
        kept = self._data["notices"].get(language)
        if kept is None:
            return None
        notices = (_decode_notice(n) for n in kept)
        return tuple(n for n in notices if n.expires_at is None or to_site(n.expires_at) > to_site(now))

    def directory(self, language: str) -> tuple[DirectoryEntry, ...] | None:
        kept = self._data["directory"].get(language)
        if kept is None:
            return None
        return tuple(DirectoryEntry(str(e["name"]), str(e["phone"]), str(e["category"]), str(e["hours"]))
                     for e in kept)

    def events(self, language: str, now: datetime) -> tuple[MemberEventView, ...] | None:
        kept = self._data["events"].get(language)
        if kept is None:
            return None
        out = []
        for e in kept:
            starts = datetime.fromisoformat(e["starts_at"])
            ends = datetime.fromisoformat(e["ends_at"]) if e["ends_at"] else None
            if to_site(ends or starts) < to_site(now):
                continue  # over since the copy was made
            out.append(MemberEventView(str(e["event_id"]), str(e["title"]), starts, str(e["place"]),
                                       int(e["seats_left"]), str(e["description"]), e["audience_tier"], ends))
        return tuple(out)
