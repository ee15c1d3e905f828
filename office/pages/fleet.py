"""The fleet: kiosk.fleet.status's colour table, refreshed in place every few seconds, and one kiosk's detail."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template

from kiosk.errors import UnknownKiosk
from kiosk.fleet import actions, alerts, status
from kiosk.i18n import N_
from office import guard
from office.pages.common import settings, work

bp = Blueprint("fleet", __name__)
COLOUR_WORDS = (N_("green"), N_("yellow"), N_("red"))  # shown translated in the table


def _rows() -> list[status.KioskStatus]:
    with work() as s:
        return status.fleet(s, settings().fleet)


@bp.get("/fleet")
@guard.needs()
def page() -> Any:
    return render_template("fleet.html", rows=_rows(), refresh_s=current_app.config["OFFICE_REFRESH_S"])


@bp.get("/fleet/table")
@guard.needs()
def table() -> Any:
    """The table's body alone: what the page's few lines of JS fetch every `refresh_s` (create_app's, 5) seconds."""
    return render_template("fleet_rows.html", rows=_rows())


@bp.get("/fleet/<code>")
@guard.needs()
def detail(code: str) -> Any:
    rows = {r.kiosk_code: r for r in _rows()}
    if code not in rows:
        raise UnknownKiosk(code, kiosk=code, known=", ".join(rows) or "-")
    with work() as s:
        episodes = [a for a in alerts.listing(s, limit=500) if a.kiosk_code == code][:30]
        return render_template("fleet_detail.html", row=rows[code], episodes=episodes,
                               sent=actions.listing(s, code, limit=10))
