"""Notices: what is current for a site, tier, language and moment; staff create and withdraw them (audited)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from kiosk.domain.terms import MemberTier
from kiosk.errors import AlreadyDone, InvalidEntry, NotFound, NoticeEditedMeanwhile
from kiosk.persistence.models import Notice, utcnow
from kiosk.services import audit

CATEGORIES = ("general", "maintenance", "fees", "safety", "event", "member")


@dataclass(frozen=True)
class NoticeView:
    notice_id: int
    category: str
    title: str
    body: str
    publish_at: datetime
    expire_at: datetime
    pinned: bool
    audience_tier: str | None
    withdrawn_at: datetime | None = None


@dataclass(frozen=True)
class NoticeDraft:
    """What staff (or an import) provide for a new notice; texts per language."""

    category: str
    publish_at: datetime
    expire_at: datetime
    title_zh_hans: str
    title_zh_hant: str
    title_en: str
    body_zh_hans: str
    body_zh_hant: str
    body_en: str
    pinned: bool = False
    audience_tier: str | None = None


def _text(notice: Notice, field: str, language: str) -> str:
    suffix = {"zh_Hans": "zh_hans", "zh_Hant": "zh_hant", "en": "en"}.get(language, "zh_hans")
    return getattr(notice, f"{field}_{suffix}") or getattr(notice, f"{field}_zh_hans")


def current_notices(session: Session, site_id: int, tier: str | None, language: str,
                    now: datetime | None = None) -> tuple[NoticeView, ...]:
    """Published, not expired, not withdrawn; for everyone or for `tier`; pinned first, then newest."""
    now = now or utcnow()
    audience = Notice.audience_tier.is_(None)
    if tier is not None:
        audience = or_(audience, Notice.audience_tier == tier)
    rows = session.scalars(select(Notice).where(
        Notice.site_id == site_id, Notice.publish_at <= now, Notice.expire_at > now,
        or_(Notice.withdrawn_at.is_(None), Notice.withdrawn_at > now), audience)
        .order_by(Notice.pinned.desc(), Notice.publish_at.desc(), Notice.id.desc()))
    return tuple(_view(n, language) for n in rows)


def all_notices(session: Session, site_id: int, language: str) -> tuple[NoticeView, ...]:
    """Every notice of the site, newest first (staff's list, withdrawn and expired included)."""
    rows = session.scalars(select(Notice).where(Notice.site_id == site_id)
                           .order_by(Notice.publish_at.desc(), Notice.id.desc()))
    return tuple(_view(n, language) for n in rows)


def validate(draft: NoticeDraft) -> list[str]:
    """Reasons the draft cannot be published (empty when it can)."""
    problems = []
    if draft.category not in CATEGORIES:
        problems.append(f"unknown category {draft.category!r}")
    if draft.audience_tier is not None and draft.audience_tier not in {t.value for t in MemberTier}:
        problems.append(f"unknown tier {draft.audience_tier!r}")
    if draft.publish_at.tzinfo is None or draft.expire_at.tzinfo is None:
        problems.append("times need a time zone")
    elif draft.expire_at <= draft.publish_at:
        problems.append("expires before it is published")
    for name in ("title_zh_hans", "title_zh_hant", "title_en"):
        value = getattr(draft, name)
        if not value.strip():
            problems.append(f"{name} is empty")
        elif len(value) > 200:
            problems.append(f"{name} is longer than 200 characters")
    return problems


def add_notice(session: Session, site_id: int, draft: NoticeDraft, *, actor: str, audited: bool = True) -> int:
    problems = validate(draft)
    if problems:
        raise InvalidEntry("; ".join(problems), field="notice")
    notice = Notice(site_id=site_id, category=draft.category, audience_tier=draft.audience_tier,
                    publish_at=draft.publish_at, expire_at=draft.expire_at, pinned=draft.pinned,
                    title_zh_hans=draft.title_zh_hans, title_zh_hant=draft.title_zh_hant, title_en=draft.title_en,
                    body_zh_hans=draft.body_zh_hans, body_zh_hant=draft.body_zh_hant, body_en=draft.body_en)
    session.add(notice)
    session.flush()
    if audited:
        audit.record(session, actor, "notice.created", str(notice.id), title=draft.title_zh_hans[:60],
                     tier=draft.audience_tier or "")
    return notice.id


def notice_for_edit(session: Session, notice_id: int) -> tuple[NoticeDraft, int]:
    """A notice's texts in every language and its version, for the office's edit form."""
    n = session.get(Notice, notice_id)
    if n is None:
        raise NotFound(f"notice {notice_id}")
    return (NoticeDraft(n.category, n.publish_at, n.expire_at, n.title_zh_hans, n.title_zh_hant, n.title_en,
                        n.body_zh_hans, n.body_zh_hant, n.body_en, n.pinned, n.audience_tier), n.version)


def edit_notice(session: Session, notice_id: int, draft: NoticeDraft, *, expected_version: int, actor: str) -> int:
    """Replace a notice's texts and times if nobody saved it since `expected_version` was read (one UPDATE whose
    row count decides: of two staff editing one notice, the second is told with NoticeEditedMeanwhile).
    Returns the new version."""
    problems = validate(draft)
    if problems:
        raise InvalidEntry("; ".join(problems), field="notice")
    if session.get(Notice, notice_id) is None:
        raise NotFound(f"notice {notice_id}")
    done = session.execute(
        update(Notice).where(Notice.id == notice_id, Notice.version == expected_version)
        .values(category=draft.category, audience_tier=draft.audience_tier, publish_at=draft.publish_at,
                expire_at=draft.expire_at, pinned=draft.pinned, title_zh_hans=draft.title_zh_hans,
                title_zh_hant=draft.title_zh_hant, title_en=draft.title_en, body_zh_hans=draft.body_zh_hans,
                body_zh_hant=draft.body_zh_hant, body_en=draft.body_en, version=Notice.version + 1)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise NoticeEditedMeanwhile(f"notice {notice_id} is no longer at version {expected_version}")
    session.expire_all()
    audit.record(session, actor, "notice.edited", str(notice_id), version=expected_version + 1,
                 title=draft.title_zh_hans[:60])
    return expected_version + 1


def withdraw_notice(session: Session, notice_id: int, *, actor: str, now: datetime | None = None) -> None:
    notice = session.get(Notice, notice_id)
    if notice is None:
        raise NotFound(f"notice {notice_id}")
    if notice.withdrawn_at is not None:
        raise AlreadyDone(f"notice {notice_id}")
    notice.withdrawn_at = now or utcnow()
    session.flush()
    audit.record(session, actor, "notice.withdrawn", str(notice.id))


def set_pinned(session: Session, notice_id: int, pinned: bool, *, actor: str) -> bool:
    """Pin a notice to the top of the residents' list, or unpin it (audited). Returns False when it already was;
    a withdrawn notice cannot be pinned (AlreadyDone)."""
    notice = session.get(Notice, notice_id)
    if notice is None:
        raise NotFound(f"notice {notice_id}")
    if notice.withdrawn_at is not None and pinned:
        raise AlreadyDone(f"notice {notice_id} is withdrawn")
    if notice.pinned == pinned:
        return False
    notice.pinned = pinned
    session.flush()
    audit.record(session, actor, "notice.pinned" if pinned else "notice.unpinned", str(notice.id))
    return True


def _view(n: Notice, language: str) -> NoticeView:
    return NoticeView(n.id, n.category, _text(n, "title", language), _text(n, "body", language), n.publish_at,
                      n.expire_at, n.pinned, n.audience_tier, n.withdrawn_at)
