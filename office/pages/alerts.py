"""Alerts: open and cleared episodes (kiosk.fleet.alerts); a sticky one cleared with a note."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from kiosk.fleet import alerts
from office import guard
from office.pages.common import actor, work

bp = Blueprint("alerts", __name__)


@bp.get("/alerts")
@guard.needs()
def page() -> Any:
    show_all = request.args.get("show") == "all"
    with work() as s:
        return render_template("alerts.html", episodes=alerts.listing(s, open_only=not show_all), show_all=show_all)


@bp.post("/alerts/<int:alert_id>/clear")
@guard.needs("technician")
def clear(alert_id: int) -> Any:
    with work() as s:
        alerts.clear(s, alert_id, actor(), request.form.get("note", ""))
    return redirect(url_for("alerts.page"))
