"""Editing a notice from the office (both databases): the edit names the version it started from; of two staff
saving one notice at the same moment, one wins and the other is told (NoticeEditedMeanwhile), nothing is mixed."""
from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from kiosk.errors import NoticeEditedMeanwhile, NotFound
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import Notice
from kiosk.services import notices

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=timezone.utc)
DRAFT = notices.NoticeDraft(category="maintenance", publish_at=NOW, expire_at=NOW + timedelta(days=2),
                            title_zh_hans="停水", title_zh_hant="停水", title_en="Water off", body_zh_hans="周三",
                            body_zh_hant="週三", body_en="Wednesday")


def test_an_edit_from_the_version_read_is_saved_and_counts_up(factory, mini):
    with unit_of_work(factory) as s:
        notice_id = notices.add_notice(s, mini.till.site_id, DRAFT, actor="staff:a")
    with unit_of_work(factory) as s:
        draft, version = notices.notice_for_edit(s, notice_id)
        assert (draft, version) == (DRAFT, 1)
        assert notices.edit_notice(s, notice_id, replace(draft, title_zh_hans="停水（改）"), expected_version=1,
                                   actor="office:a") == 2
    with unit_of_work(factory) as s:
        assert notices.notice_for_edit(s, notice_id) == (replace(DRAFT, title_zh_hans="停水（改）"), 2)
        with pytest.raises(NoticeEditedMeanwhile):
            notices.edit_notice(s, notice_id, DRAFT, expected_version=1, actor="office:b")
        with pytest.raises(NotFound):
            notices.edit_notice(s, notice_id + 99, DRAFT, expected_version=1, actor="office:b")


def test_of_two_saves_at_once_one_wins_and_the_other_is_told(factory, mini):
    with unit_of_work(factory) as s:
        notice_id = notices.add_notice(s, mini.till.site_id, DRAFT, actor="staff:a")
    outcome: list[object] = []
    first_holds = threading.Event()

    def second() -> None:
        first_holds.wait(5)
        try:
            with unit_of_work(factory) as s:
                notices.edit_notice(s, notice_id, replace(DRAFT, body_zh_hans="第二人"), expected_version=1,
                                    actor="office:b")
            outcome.append("saved")
        except NoticeEditedMeanwhile as exc:
            outcome.append(exc)

    worker = threading.Thread(target=second)
    worker.start()
    with unit_of_work(factory) as s:  # the first holds its update open while the second tries
        notices.edit_notice(s, notice_id, replace(DRAFT, body_zh_hans="第一人"), expected_version=1, actor="office:a")
        first_holds.set()
        worker.join(0.5)
    worker.join(30)
    assert len(outcome) == 1 and isinstance(outcome[0], NoticeEditedMeanwhile)
    with unit_of_work(factory) as s:
        row = s.get(Notice, notice_id)
        assert (row.body_zh_hans, row.version) == ("第一人", 2)
