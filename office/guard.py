"""Sign-in state, CSRF tokens and roles for every request of the console.

The session is Flask's signed cookie (HttpOnly, SameSite=Lax, Secure behind TLS) holding the staff id, when it
was signed in and last used, and a random CSRF seed. A session idle longer than `idle_minutes` or older than
`max_hours` has ended; each request re-reads the user, so a removed user, a changed role or a new web password
takes effect at once.
Every POST must carry `csrf_token` = HMAC(secret, seed): a form from another server or another session fails."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, g, redirect, request, session, url_for

from kiosk.domain.terms import StaffRole
from kiosk.errors import FormExpired, PermissionDenied, SessionEnded
from kiosk.persistence.db import unit_of_work
from kiosk.services import web_passwords
from kiosk.services.staff import StaffView

ROLE_RANK = {StaffRole.STAFF.value: 0, StaffRole.TECHNICIAN.value: 1, StaffRole.ADMIN.value: 2}


def start_session(user: StaffView) -> None:
    session.clear()
    now = int(time.time())
    with unit_of_work(current_app.config["OFFICE_DB"].factory) as s:
        stamp = web_passwords.stamp_of(s, user.staff_id)
    session.update(staff_id=user.staff_id, signed_in=now, seen=now, seed=secrets.token_hex(16), stamp=stamp)
    session.permanent = True


def csrf_token() -> str:
    seed = session.get("seed")
    if not seed:  # the sign-in form of a visitor without a session
        seed = session["seed"] = secrets.token_hex(16)
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"csrf:{seed}".encode(), hashlib.sha256).hexdigest()


def check_csrf() -> None:
    given = request.form.get("csrf_token", "")
    if not session.get("seed") or not hmac.compare_digest(given, csrf_token()):
        raise FormExpired(f"{request.method} {request.path} without a valid CSRF token")


def load_user() -> StaffView | None:
    """The signed-in user, or None; a session past its idle or absolute limit is cleared and raises SessionEnded."""
    staff_id = session.get("staff_id")
    if staff_id is None:
        return None
    now = int(time.time())
    cfg = current_app.config
    idle, age = now - int(session.get("seen", 0)), now - int(session.get("signed_in", 0))
    if idle > cfg["OFFICE_IDLE_S"] or age > cfg["OFFICE_MAX_S"]:
        session.clear()
        raise SessionEnded(f"staff {staff_id}")
    with unit_of_work(cfg["OFFICE_DB"].factory) as s:
        user = web_passwords.current(s, int(staff_id), str(session.get("stamp", "")))
    if user is None:
        session.clear()
        raise SessionEnded(f"staff {staff_id} removed, deactivated or with a new web password")
    session["seen"] = now
    return user


def allowed(user: StaffView | None, role: str) -> bool:
    return user is not None and ROLE_RANK.get(user.role, -1) >= ROLE_RANK[role]


def needs(role: str = StaffRole.STAFF.value) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The page needs a signed-in user of at least `role` (staff < technician < admin)."""
    def wrap(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def inner(*args: Any, **kwargs: Any) -> Any:
            if g.user is None:
                return redirect(url_for("auth.sign_in", next=request.full_path if request.method == "GET" else None))
            if not allowed(g.user, role):
                raise PermissionDenied(f"{g.user.name} is {g.user.role}, {request.path} needs {role}")
            return view(*args, **kwargs)
        return inner
    return wrap
