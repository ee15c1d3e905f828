"""The attract screen's last known content (site, service status, notices per language) in the data dir.

The window opens on it while the runtime is still starting, so a restarted kiosk greets people at once
instead of after the database and devices are up. It is only ever a copy of what the services last
returned: it is rewritten (atomically, and only when it changed, to spare the kiosk's flash storage)
every time the attract content is loaded from the services, and nothing in it is used once the
services answer. An unreadable file is ignored: the attract screen then waits for the services.
"""
from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, time
from pathlib import Path
from typing import Any

from kiosk.domain.site_clock import to_site
from kiosk.flows.records import Feature, NoticeView, OpeningHours, ServiceStatus, SiteInfo, SwitchedOffView
from kiosk.private_files import write_private_text

log = logging.getLogger(__name__)
FILE_NAME = "attract-snapshot.json"
VERSION = 1


@dataclass(frozen=True)
class AttractContent:
    site: SiteInfo | None = None
    status: ServiceStatus | None = None
    notices: dict[str, tuple[NoticeView, ...]] = field(default_factory=dict)  # language -> notices


def snapshot_path(data_dir: Path) -> Path:
    return Path(data_dir) / FILE_NAME


class AttractSnapshot:
    """Thread-safe holder of the content, loaded from and saved to one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self.content = self._read()

    def _read(self) -> AttractContent:
        if not self.path.exists():
            return AttractContent()
        try:
            return decode(json.loads(self.path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("%s is unreadable (%s); the attract screen waits for the services", self.path, exc)
            return AttractContent()

    def remember_site(self, site: SiteInfo) -> None:
        self._update(lambda c: replace(c, site=site))

    def remember_status(self, status: ServiceStatus) -> None:
        # devices are not kept: at the next start their state is unknown until they are opened
        switched = tuple(SwitchedOffView(o.feature, o.message) for o in status.switched_off)
        self._update(lambda c: replace(c, status=ServiceStatus(status.out_of_service, status.reason,
                                                               switched_off=switched)))

    def remember_notices(self, language: str, notices: tuple[NoticeView, ...]) -> None:
        self._update(lambda c: replace(c, notices={**c.notices, language: tuple(notices)}))

    def notices(self, language: str, now: datetime) -> tuple[NoticeView, ...] | None:
        """The remembered notices still current at `now`, or None when none were remembered."""
        kept = self.content.notices.get(language)
        if kept is None:
            return None
        return tuple(n for n in kept if n.expires_at is None or to_site(n.expires_at) > to_site(now))

    def _update(self, change: Any) -> None:
        with self._lock:
            new = change(self.content)
            if new == self.content:
                return
            self.content = new
            try:
                write_private_text(self.path, json.dumps(encode(new), ensure_ascii=False, indent=1) + "\n")
            except OSError as exc:  # a full or read-only disk costs only the quick greeting at the next start
                log.warning("could not save %s: %s", self.path, exc)


# --- JSON codec --------------------------------------------------------------------------------
def encode(content: AttractContent) -> dict[str, Any]:
    out: dict[str, Any] = {"version": VERSION, "notices": {
        lang: [_encode_notice(n) for n in notices] for lang, notices in content.notices.items()}}
    if content.site is not None:
        s = content.site
        out["site"] = {"site_id": s.site_id, "kiosk_id": s.kiosk_id, "names": dict(s.names),
                       "hours": [[h.weekday, h.opens.isoformat(), h.closes.isoformat()] for h in s.hours],
                       "features": sorted(f.value for f in s.features),
                       "out_of_hours_features": sorted(f.value for f in s.out_of_hours_features),
                       "card_replacement_fee_fen": s.card_replacement_fee_fen,
                       "top_up_amounts_fen": list(s.top_up_amounts_fen)}
    if content.status is not None:
        out["status"] = {"out_of_service": content.status.out_of_service, "reason": content.status.reason,
                         "switched_off": [[str(o.feature), o.message] for o in content.status.switched_off]}
    return out


def decode(data: dict[str, Any]) -> AttractContent:
    if data.get("version") != VERSION:
        raise ValueError(f"snapshot version {data.get('version')!r}, expected {VERSION}")
    site = None
    if "site" in data:
        s = data["site"]
        site = SiteInfo(site_id=str(s["site_id"]), kiosk_id=str(s["kiosk_id"]),
                        names={str(k): str(v) for k, v in s["names"].items()},
                        hours=tuple(OpeningHours(int(d), time.fromisoformat(o), time.fromisoformat(c))
                                    for d, o, c in s["hours"]),
                        features=frozenset(Feature(f) for f in s["features"]),
                        out_of_hours_features=frozenset(Feature(f) for f in s["out_of_hours_features"]),
                        card_replacement_fee_fen=_fen(s["card_replacement_fee_fen"]),
                        top_up_amounts_fen=tuple(_fen(a) for a in s["top_up_amounts_fen"]))
    status = None
    if "status" in data:
        status = ServiceStatus(bool(data["status"]["out_of_service"]), str(data["status"]["reason"]),
                               switched_off=tuple(SwitchedOffView(Feature(f), str(m))
                                                  for f, m in data["status"].get("switched_off", ())))
    notices = {str(lang): tuple(_decode_notice(n) for n in items) for lang, items in data["notices"].items()}
    return AttractContent(site, status, notices)


def _fen(value: Any) -> int:
    if type(value) is not int:  # money is integer fen, in the file too
        raise TypeError(f"amount {value!r} is not integer fen")
    return value


def _encode_notice(n: NoticeView) -> dict[str, Any]:
    return {"notice_id": n.notice_id, "category": n.category, "title": n.title, "body": n.body,
            "posted_at": n.posted_at.isoformat(), "expires_at": n.expires_at.isoformat() if n.expires_at else None,
            "pinned": n.pinned}


def _decode_notice(d: dict[str, Any]) -> NoticeView:
    return NoticeView(notice_id=str(d["notice_id"]), category=str(d["category"]), title=str(d["title"]),
                      body=str(d["body"]), posted_at=datetime.fromisoformat(d["posted_at"]),
                      expires_at=datetime.fromisoformat(d["expires_at"]) if d["expires_at"] else None,
                      pinned=bool(d["pinned"]))
