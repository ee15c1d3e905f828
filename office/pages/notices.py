"""Notices: write and edit (in Chinese with the PC's own input method; the other languages optional), preview as
the kiosk shows it, withdraw. Saving an edit names the version it started from (kiosk.services.notices.edit_notice):
of two staff editing one notice, the second is told and loses nothing of the first's."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for

from kiosk.domain.site_clock import site_now, to_site, to_utc
from kiosk.domain.terms import MemberTier
from kiosk.errors import InvalidEntry, NoticeEditedMeanwhile
from kiosk.services import notices
from office import guard
from office.app import error_line
from office.pages.common import actor, site_id, work

bp = Blueprint("notices", __name__)
TIERS = tuple(t.value for t in MemberTier)
_LOCAL = "%Y-%m-%dT%H:%M"


def _moment(name: str) -> datetime:
    text = request.form.get(name, "").strip()
    try:
        return to_utc(datetime.strptime(text, _LOCAL))
    except ValueError:
        raise InvalidEntry(f"{name} {text!r}", field=name) from None


def _draft() -> notices.NoticeDraft:
    """The form as a draft; Traditional and English texts left empty take the Simplified text."""
    f = request.form
    title, body = f.get("title_zh_hans", "").strip(), f.get("body_zh_hans", "").strip()
    tier = f.get("tier", "") or None
    return notices.NoticeDraft(
        category=f.get("category", ""), publish_at=_moment("publish_at"), expire_at=_moment("expire_at"),
        title_zh_hans=title, title_zh_hant=f.get("title_zh_hant", "").strip() or title,
        title_en=f.get("title_en", "").strip() or title, body_zh_hans=body,
        body_zh_hant=f.get("body_zh_hant", "").strip() or body, body_en=f.get("body_en", "").strip() or body,
        pinned=f.get("pinned") == "on", audience_tier=tier)


def _form_values(draft: notices.NoticeDraft | None) -> dict[str, Any]:
    if draft is None:
        start = site_now().replace(second=0, microsecond=0)
        return {"category": "general", "publish_at": start.strftime(_LOCAL),
                "expire_at": (start + timedelta(days=7)).strftime(_LOCAL), "pinned": False, "tier": ""}
    values = {k: getattr(draft, k) for k in ("category", "title_zh_hans", "title_zh_hant", "title_en",
                                              "body_zh_hans", "body_zh_hant", "body_en", "pinned")}
    values.update(publish_at=to_site(draft.publish_at).strftime(_LOCAL),
                  expire_at=to_site(draft.expire_at).strftime(_LOCAL), tier=draft.audience_tier or "")
    return values


def _editor(values: dict[str, Any], notice_id: int | None, version: int | None, message: str = "",
            preview: notices.NoticeDraft | None = None, status: int = 200) -> Any:
    return render_template("notice_edit.html", v=values, notice_id=notice_id, version=version, message=message,
                           preview=preview, categories=notices.CATEGORIES, tiers=TIERS), status


@bp.get("/notices")
@guard.needs()
def page() -> Any:
    sid = site_id()
    with work() as s:
        rows = notices.all_notices(s, sid, g.lang)
    return render_template("notices.html", rows=rows, now=site_now())


@bp.route("/notices/new", methods=["GET", "POST"])
@guard.needs()
def new() -> Any:
    if request.method == "GET":
        return _editor(_form_values(None), None, None)
    draft = _draft()
    if request.form.get("action") == "preview":
        return _editor(dict(request.form), None, None, preview=draft)
    sid = site_id()
    with work() as s:
        notices.add_notice(s, sid, draft, actor=actor())
    return redirect(url_for("notices.page"))


@bp.route("/notices/<int:notice_id>", methods=["GET", "POST"])
@guard.needs()
def edit(notice_id: int) -> Any:
    if request.method == "GET":
        with work() as s:
            draft, version = notices.notice_for_edit(s, notice_id)
        return _editor(_form_values(draft), notice_id, version)
    version = int(request.form.get("version", "0") or 0)
    draft = _draft()
    if request.form.get("action") == "preview":
        return _editor(dict(request.form), notice_id, version, preview=draft)
    try:
        with work() as s:
            notices.edit_notice(s, notice_id, draft, expected_version=version, actor=actor())
    except NoticeEditedMeanwhile as exc:  # keep what this person typed on the page; the saved one is theirs
        return _editor(dict(request.form), notice_id, version, message=error_line(exc, g.lang), status=409)
    return redirect(url_for("notices.page"))


@bp.post("/notices/<int:notice_id>/withdraw")
@guard.needs()
def withdraw(notice_id: int) -> Any:
    with work() as s:
        notices.withdraw_notice(s, notice_id, actor=actor())
    return redirect(url_for("notices.page"))
