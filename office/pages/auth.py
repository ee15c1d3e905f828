"""Sign in and out, and an admin setting a staff user's web password."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, g, redirect, render_template, request, session, url_for

from kiosk.errors import AuthError
from kiosk.services import web_passwords
from office import guard
from office.app import error_line
from office.pages.common import actor, db, work

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only a path of this console: never another host (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("fleet.page")


@bp.get("/")
def home() -> Any:
    return redirect(url_for("fleet.page") if g.user else url_for("auth.sign_in"))


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Any:
    message = ""
    if session.pop("ended", False):
        from kiosk.errors import SessionEnded

        message = error_line(SessionEnded(), g.lang)
    status = 200
    if request.method == "POST":
        try:
            user = web_passwords.sign_in(db().factory, request.form.get("name", ""), request.form.get("password", ""))
        except AuthError as exc:
            message, status = error_line(exc, g.lang), 401
        else:
            lang = g.lang
            guard.start_session(user)
            session["lang"] = lang
            return redirect(_safe_next(request.args.get("next")))
    return render_template("sign_in.html", message=message, name=request.form.get("name", "")), status


@bp.post("/sign-out")
def sign_out() -> Any:
    session.clear()
    return redirect(url_for("auth.sign_in"))


@bp.route("/staff/web-password", methods=["GET", "POST"])
@guard.needs("admin")
def web_password() -> Any:
    done = ""
    if request.method == "POST":
        with work() as s:
            view = web_passwords.set_web_password(s, name=request.form.get("name", ""),
                                                  password=request.form.get("password", ""), actor=actor())
        done = view.name
    return render_template("web_password.html", done=done)
