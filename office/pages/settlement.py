"""A day's settlement and its CSV: kiosk.services.settlement, the same figures as `kiosk report settlement`."""
from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, render_template, request

from kiosk.domain.site_clock import site_today
from kiosk.errors import InvalidEntry
from kiosk.services import settlement
from office import guard
from office.pages.common import settings, site_id, work

bp = Blueprint("settlement", __name__)


def _day() -> date:
    text = request.args.get("day", "").strip()
    if not text:
        return site_today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidEntry(f"day {text!r}", field="day") from None


def _report(day: date) -> settlement.Settlement:
    sid = site_id()
    with work() as s:
        return settlement.daily_settlement(s, sid, day, settings().site.timezone)


@bp.get("/settlement")
@guard.needs("admin")
def page() -> Any:
    day = _day()
    return render_template("settlement.html", report=_report(day), day=day)


@bp.get("/settlement.csv")
@guard.needs("admin")
def csv() -> Any:
    day = _day()
    return Response(settlement.to_csv(_report(day)), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename=settlement-{day.isoformat()}.csv",
                             "Cache-Control": "no-store"})
