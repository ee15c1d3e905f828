"""The fleet at a glance: one row per kiosk with a colour and the reason in words (`kiosk fleet status`).

green: heard within `silent_after_s` and nothing wrong; yellow: warnings (paper near end, cash box at
`cash_box_warn_percent` or more, maintenance, out of service by staff or the office, a device starting, banknotes
waiting in the offline journal, a clock off the database's); red: silent longer than `silent_after_s`, never heard
from, or any device down (a printer out of paper, with its cover open or offline cannot print: down too).
Ages are measured on the database's clock, like the beats themselves.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.fleet import dbtime
from kiosk.i18n import N_, translate
from kiosk.persistence.models import Kiosk, KioskHeartbeat
from kiosk.settings import FleetSettings

DEVICE_WORDS = {"reader": N_("Card reader"), "printer": N_("Receipt printer"), "cash": N_("Banknote acceptor"),
                "scanner": N_("Payment-code scanner"), "gateway": N_("Payment service")}


class Reason(str):
    """One reason a kiosk is not green: the English words (what `kiosk fleet status` prints, what the JSON and
    the tests read) and, for the office console, the same words in any kiosk language (`in_language`).
    A parameter may itself be a Reason (a time span, a device's name) and is translated with it."""

    msgid: str
    params: dict[str, object]

    def __new__(cls, msgid: str, **params: object) -> Reason:
        self = super().__new__(cls, translate(msgid, "en", **_worded(params, "en")) if params else msgid)
        self.msgid, self.params = msgid, params
        return self

    def in_language(self, language: str) -> str:
        return translate(self.msgid, language, **_worded(self.params, language))


def _worded(params: dict[str, object], language: str) -> dict[str, object]:
    return {k: v.in_language(language) if isinstance(v, Reason) else v for k, v in params.items()}


def _device(name: str) -> object:
    return Reason(DEVICE_WORDS[name]) if name in DEVICE_WORDS else name


class Colour(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


@dataclass(frozen=True)
class KioskStatus:
    kiosk_code: str
    colour: Colour
    reasons: tuple[Reason, ...]
    last_heard: datetime | None
    silent_s: int | None  # seconds since the last heartbeat (the database's clock)
    state: str
    state_reason: str
    version: str
    devices: dict[str, dict[str, Any]]
    queues: dict[str, int]
    last_error: str
    clock_sync: str = ""  # issue 19's clock check, as the kiosk gave it
    clock_offset_ms: int | None = None  # the database's clock minus the kiosk's

    @property
    def reason(self) -> str:
        return self.reason_in("en")

    def reason_in(self, language: str) -> str:
        """The reasons in `language`, joined; "all well" (translated) when there is none."""
        words = [r.in_language(language) for r in self.reasons] or [translate(N_("all well"), language)]
        return "; ".join(words)

    @property
    def reader_tap(self) -> str:
        """The reader's tap latency in words ("tap 85 ms, p95 120 ms"), "" when the kiosk has not measured one."""
        reader = self.devices.get("reader") or {}
        last, p95 = reader.get("last_tap_ms"), reader.get("tap_p95_ms")
        if last is None:
            return ""
        return f"tap {last} ms" + (f", p95 {p95} ms" if p95 is not None else "")

    def to_json(self) -> dict[str, Any]:
        return {"kiosk": self.kiosk_code, "colour": str(self.colour), "reason": self.reason,
                "reasons": list(self.reasons), "last_heard": self.last_heard.isoformat() if self.last_heard else None,
                "silent_s": self.silent_s, "state": self.state, "state_reason": self.state_reason,
                "version": self.version, "devices": self.devices, "queues": self.queues, "last_error": self.last_error,
                "clock_sync": self.clock_sync, "clock_offset_ms": self.clock_offset_ms}


def _printer_problems(printer: dict[str, Any]) -> tuple[list[Reason], list[Reason]]:
    """(down, warnings) of the printer beyond its worker's health."""
    down, warn = [], []
    if printer.get("cover_open"):
        down.append(Reason(N_("printer cover open")))
    if printer.get("paper") == "out":
        down.append(Reason(N_("printer out of paper")))
    elif printer.get("online") is False and printer.get("state") == "ok":
        down.append(Reason(N_("printer offline")))
    if printer.get("paper") == "near_end":
        warn.append(Reason(N_("printer paper near end")))
    return down, warn


def judge(row: KioskHeartbeat | None, code: str, now: datetime, cfg: FleetSettings) -> KioskStatus:
    if row is None:
        return KioskStatus(code, Colour.RED, (Reason(N_("never heard from (no heartbeat)")),), None, None, "", "", "",
                           {}, {}, "")
    devices: dict[str, dict[str, Any]] = json.loads(row.devices or "{}")
    queues: dict[str, int] = json.loads(row.queues or "{}")
    silent = max(0, int((now - row.beat_at).total_seconds()))
    red: list[Reason] = []
    yellow: list[Reason] = []
    if silent > cfg.silent_after_s:
        red.append(Reason(N_("silent for {span}"), span=_span(silent)))
    for name, dev in sorted(devices.items()):
        state = dev.get("state")
        if state == "down":
            red.append(Reason(N_("{device} down ({why})"), device=_device(name), why=dev["reason"])
                       if dev.get("reason") else Reason(N_("{device} down"), device=_device(name)))
        elif state == "degraded":
            yellow.append(Reason(N_("{device} starting ({why})"), device=_device(name), why=dev["reason"])
                          if dev.get("reason") else Reason(N_("{device} starting"), device=_device(name)))
        if name == "printer" and state not in ("down", "absent"):
            down, warn = _printer_problems(dev)
            red += down
            yellow += warn
        if name == "cash" and state != "absent":
            if dev.get("box", "removed" if dev.get("box_removed_at") else "in") == "removed":
                red.append(Reason(N_("cash box removed")))
            elif dev.get("box_removed_at"):  # back in, but no handover since it was taken out: the alert's case
                yellow.append(Reason(N_("cash box was removed without a handover")))
            capacity = int(dev.get("box_capacity") or 0)
            notes = int(dev.get("box_notes") or 0)
            if capacity and notes * 100 >= capacity * cfg.cash_box_warn_percent:
                (red if notes >= capacity else yellow).append(Reason(
                    N_("cash box {notes}/{capacity} notes ({percent}%)"), percent=notes * 100 // capacity,
                    notes=notes, capacity=capacity))
    if row.state == "maintenance":
        yellow.append(Reason(N_("maintenance")))
    elif row.state == "out_of_service":
        yellow.append(Reason(N_("out of service: {why}"), why=row.state_reason) if row.state_reason
                      else Reason(N_("out of service")))
    if queues.get("offline_cash_notes"):
        yellow.append(Reason(N_("{count} banknote(s) waiting to be credited"), count=queues["offline_cash_notes"]))
    if row.clock_offset_ms is not None and abs(row.clock_offset_ms) > 2000:
        yellow.append(Reason(N_("clock {seconds} s off the database's"), seconds=f"{-row.clock_offset_ms / 1000:+.0f}"))
    if row.clock_sync.startswith("not synchronised"):
        yellow.append(Reason(N_("clock not synchronised (NTP)")))
    colour = Colour.RED if red else Colour.YELLOW if yellow else Colour.GREEN
    return KioskStatus(row.kiosk_code, colour, tuple(red + yellow), row.beat_at, silent, row.state, row.state_reason,
                       row.version, devices, queues, row.last_error, row.clock_sync, row.clock_offset_ms)


def _span(seconds: int) -> Reason:
    if seconds < 120:
        return Reason(N_("{seconds} s"), seconds=seconds)
    if seconds < 7200:
        return Reason(N_("{minutes} min"), minutes=seconds // 60)
    return Reason(N_("{hours} h {minutes} min"), hours=seconds // 3600, minutes=seconds % 3600 // 60)


def fleet(session: Session, cfg: FleetSettings) -> list[KioskStatus]:
    """Every kiosk of the estate, and every kiosk code that sent a heartbeat, in code order."""
    now = dbtime.now(session)
    rows = {r.kiosk_code: r for r in session.scalars(select(KioskHeartbeat))}
    codes = sorted(set(session.scalars(select(Kiosk.code))) | set(rows))
    return [judge(rows.get(code), code, now, cfg) for code in codes]
