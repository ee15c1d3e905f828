"""Staff pin, unpin and withdraw notices (both databases): residents' order changes at once, each change is audited
with the staff member, a withdrawn notice cannot be pinned again, and the staff list keeps it with its time."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from kiosk.errors import AlreadyDone, NotFound
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import AuditEntry
from kiosk.services import notices

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=timezone.utc)


def _add(factory, site, title, *, hours_ago, pinned=False):
    draft = notices.NoticeDraft(category="maintenance", publish_at=NOW - timedelta(hours=hours_ago),
                                expire_at=NOW + timedelta(days=2), title_zh_hans=f"{title}-简", title_zh_hant=f"{title}-繁",
                                title_en=title, body_zh_hans="正文", body_zh_hant="正文", body_en="Body", pinned=pinned)
    with unit_of_work(factory) as s:
        return notices.add_notice(s, site, draft, actor="staff:x")


def _public(factory, site):
    with unit_of_work(factory) as s:
        return [n.title for n in notices.current_notices(s, site, None, "en", NOW)]


def _audit(factory):
    with unit_of_work(factory) as s:
        return [(a.actor, a.action, a.subject) for a in s.scalars(select(AuditEntry).order_by(AuditEntry.id))
                if a.action in ("notice.pinned", "notice.unpinned", "notice.withdrawn")]


def test_pin_and_unpin_change_the_order_residents_see_and_are_audited(factory, mini):
    site = mini.till.site_id
    old, new = _add(factory, site, "old", hours_ago=5), _add(factory, site, "new", hours_ago=1)
    assert _public(factory, site) == ["new", "old"]
    with unit_of_work(factory) as s:
        assert notices.set_pinned(s, old, True, actor="staff:王芳")
    assert _public(factory, site) == ["old", "new"]
    with unit_of_work(factory) as s:
        assert not notices.set_pinned(s, old, True, actor="staff:王芳")  # already pinned: nothing to audit
        assert notices.set_pinned(s, old, False, actor="staff:李强")
    assert _public(factory, site) == ["new", "old"]
    assert _audit(factory) == [("staff:王芳", "notice.pinned", str(old)), ("staff:李强", "notice.unpinned", str(old))]
    assert new


def test_a_withdrawn_notice_leaves_residents_stays_for_staff_and_cannot_be_pinned(factory, mini):
    site = mini.till.site_id
    nid = _add(factory, site, "gone", hours_ago=1, pinned=True)
    with unit_of_work(factory) as s:
        notices.withdraw_notice(s, nid, actor="staff:王芳", now=NOW - timedelta(minutes=1))
    assert _public(factory, site) == []
    with unit_of_work(factory) as s:
        (listed,) = notices.all_notices(s, site, "zh_Hans")
        assert listed.withdrawn_at == NOW - timedelta(minutes=1) and listed.category == "maintenance"
        with pytest.raises(AlreadyDone):
            notices.set_pinned(s, nid, True, actor="staff:王芳")
        assert notices.set_pinned(s, nid, False, actor="staff:王芳")  # unpinning a withdrawn one is harmless
    assert ("staff:王芳", "notice.withdrawn", str(nid)) in _audit(factory)


def test_pinning_an_unknown_notice_is_not_found(factory, mini):
    with unit_of_work(factory) as s:
        with pytest.raises(NotFound):
            notices.set_pinned(s, 9999, True, actor="staff:x")
