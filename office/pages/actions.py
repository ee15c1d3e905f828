"""Remote actions (kiosk.fleet.actions): pause with a message, resume, reload notices or config, restart; rows a
kiosk picks up on its next poll. Technicians and admins send them; everyone sees them with their outcome."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from kiosk.errors import InvalidEntry
from kiosk.fleet import actions, alerts
from office import guard
from office.pages.common import actor, work

bp = Blueprint("actions", __name__)


@bp.get("/actions")
@guard.needs()
def page() -> Any:
    kiosk = request.args.get("kiosk", "").strip() or None
    with work() as s:
        return render_template("actions.html", rows=actions.listing(s, kiosk, limit=100), kiosk=kiosk or "",
                               codes=alerts.kiosk_codes(s), kinds=[str(a) for a in actions.Action])


@bp.post("/actions")
@guard.needs("technician")
def send() -> Any:
    code = request.form.get("kiosk", "").strip()
    try:
        action = actions.Action(request.form.get("action", ""))
    except ValueError:
        raise InvalidEntry(f"action {request.form.get('action', '')!r}", field="action") from None
    with work() as s:
        actions.send(s, code, action, request.form.get("message", ""), actor())
    return redirect(url_for("actions.page", kiosk=code))
