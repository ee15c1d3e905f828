"""Callback requests residents left at a kiosk (kiosk.services.callbacks): list, mark done."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for

from kiosk.services import callbacks
from office import guard
from office.pages.common import site_id, work

bp = Blueprint("callbacks", __name__)


@bp.get("/callbacks")
@guard.needs()
def page() -> Any:
    show_all = request.args.get("show") == "all"
    sid = site_id()
    with work() as s:
        rows = callbacks.open_callbacks(s, sid, g.lang, include_done=show_all)
    return render_template("callbacks.html", rows=rows, show_all=show_all)


@bp.post("/callbacks/<int:callback_id>/done")
@guard.needs()
def done(callback_id: int) -> Any:
    with work() as s:
        callbacks.mark_done(s, callback_id=callback_id, staff_name=g.user.name)
    return redirect(url_for("callbacks.page"))
