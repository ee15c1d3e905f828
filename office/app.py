"""The console's Flask application: settings and the database in, pages (blueprints) registered, every
KioskError rendered as one translated line with its code (never a traceback)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask, g, render_template, request, session
from markupsafe import Markup

from kiosk.bootstrap import Database
from kiosk.errors import AuthError, FormExpired, KioskError, NotFound, PermissionDenied, SessionEnded
from kiosk.i18n import DEFAULT_LANGUAGE, LANGUAGES, format_money, translate
from kiosk.settings import Settings
from office import guard
from office.session_key import session_key

LANGUAGE_NAMES = {"zh_Hans": "简体中文", "zh_Hant": "繁體中文", "en": "English"}


def create_app(settings: Settings, db: Database, *, secure_cookies: bool = False, idle_minutes: int = 30,
               max_hours: int = 12, refresh_s: int = 5) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=session_key(settings.data_dir), OFFICE_SETTINGS=settings, OFFICE_DB=db,
        OFFICE_IDLE_S=idle_minutes * 60, OFFICE_REFRESH_S=refresh_s, OFFICE_MAX_S=max_hours * 3600,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=max_hours), SESSION_COOKIE_NAME="kiosk_office",
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=secure_cookies,
        MAX_CONTENT_LENGTH=4 * 1024 * 1024)
    from office.pages import actions, alerts, auth, bills, callbacks, fleet, notices, receipts, settlement

    for module in (auth, fleet, alerts, actions, notices, bills, callbacks, settlement, receipts):
        app.register_blueprint(module.bp)

    @app.before_request
    def _who() -> None:
        lang = request.args.get("lang")
        if lang in LANGUAGES:
            session["lang"] = lang
        g.lang = session.get("lang", DEFAULT_LANGUAGE)
        g.user = None
        try:
            g.user = guard.load_user()
        except SessionEnded:
            if request.method == "POST":
                raise
            session["ended"] = True  # the sign-in page says why
        if request.method == "POST":
            guard.check_csrf()

    @app.errorhandler(KioskError)
    def _kiosk_error(exc: KioskError) -> Any:
        status = 400
        if isinstance(exc, (FormExpired, SessionEnded)):
            status = 403 if isinstance(exc, FormExpired) else 401
        elif isinstance(exc, PermissionDenied):
            status = 403
        elif isinstance(exc, AuthError):
            status = 401
        elif isinstance(exc, NotFound):
            status = 404
        lang = getattr(g, "lang", DEFAULT_LANGUAGE)
        app.logger.warning("%s %s: %s", request.method, request.path, exc)
        return render_template("error.html", error=exc, message=error_line(exc, lang)), status

    @app.errorhandler(413)
    def _too_large(_exc: Exception) -> Any:
        from kiosk.errors import UploadTooLarge

        return _kiosk_error(UploadTooLarge(limit="4 MB"))

    @app.context_processor
    def _helpers() -> dict[str, Any]:
        lang = getattr(g, "lang", DEFAULT_LANGUAGE)
        return {"_": lambda msg, **kw: translate(msg, lang, **kw), "lang": lang, "languages": LANGUAGE_NAMES,
                "csrf_token": guard.csrf_token, "user": getattr(g, "user", None),
                "can": lambda role: guard.allowed(getattr(g, "user", None), role),
                "money": lambda fen: format_money(int(fen), lang), "when": _when,
                "csrf_field": lambda: Markup('<input type="hidden" name="csrf_token" value="%s">')
                % guard.csrf_token()}

    return app


def error_line(exc: KioskError, lang: str) -> str:
    return f"[{exc.code}] {exc.user_message(lang)}"


def _when(value: Any) -> str:
    from kiosk.domain.site_clock import wall_text

    return wall_text(value, "%Y-%m-%d %H:%M") if value else "—"
