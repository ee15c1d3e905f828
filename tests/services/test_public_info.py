"""Notices, directory, member events, callbacks and direct debit: visibility rules and refusals."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from kiosk.domain.terms import MemberTier
from kiosk.errors import AlreadyDone, InvalidEntry, KioskError, NotFound, SlotUnavailable
from kiosk.persistence.db import unit_of_work
from kiosk.persistence.models import DirectDebitMandate, DirectoryEntry, MemberEvent, Resident
from kiosk.services import callbacks, direct_debit, directory, member_events, notices
from tests.services.helpers import audit_actions

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=timezone.utc)


def _draft(title, *, hours_ago=1, hours_left=48, pinned=False, tier=None):
    return notices.NoticeDraft(category="general", publish_at=NOW - timedelta(hours=hours_ago),
                               expire_at=NOW + timedelta(hours=hours_left), title_zh_hans=f"{title}-简",
                               title_zh_hant=f"{title}-繁", title_en=title, body_zh_hans="正文", body_zh_hant="正文",
                               body_en="Body", pinned=pinned, audience_tier=tier)


def test_current_notices_are_filtered_by_time_tier_and_withdrawal_pinned_first(factory, mini):
    site = mini.till.site_id
    with unit_of_work(factory) as s:
        ids = {t: notices.add_notice(s, site, d, actor="staff:x") for t, d in {
            "old": _draft("old", hours_ago=5), "new": _draft("new"), "pinned": _draft("pinned", hours_ago=9, pinned=True),
            "expired": _draft("expired", hours_ago=50, hours_left=-1), "future": _draft("future", hours_ago=-2),
            "gold": _draft("gold", hours_ago=2, tier="gold"), "gone": _draft("gone")}.items()}
        notices.withdraw_notice(s, ids["gone"], actor="staff:x", now=NOW - timedelta(minutes=1))
    with unit_of_work(factory) as s:
        public = [n.title for n in notices.current_notices(s, site, None, "en", NOW)]
        gold = [n.title for n in notices.current_notices(s, site, "gold", "zh_Hant", NOW)]
    assert public == ["pinned", "new", "old"]
    assert gold == ["pinned-繁", "new-繁", "gold-繁", "old-繁"]
    assert {"notice.created", "notice.withdrawn"} <= set(audit_actions(factory))
    with pytest.raises(AlreadyDone):
        with unit_of_work(factory) as s:
            notices.withdraw_notice(s, ids["gone"], actor="staff:x")


def test_bad_notice_draft_is_refused(factory, mini):
    with pytest.raises(InvalidEntry):
        with unit_of_work(factory) as s:
            notices.add_notice(s, mini.till.site_id, _draft("x", hours_ago=-5, hours_left=-10), actor="staff:x")


def test_directory_never_gives_staff_only_numbers_to_residents(factory, mini):
    site = mini.till.site_id
    with unit_of_work(factory) as s:
        s.add_all([DirectoryEntry(site_id=site, name_zh_hans="客服中心", name_zh_hant="客服中心", name_en="Service desk",
                                  phone="020-88880001", public=True, sort_order=1),
                   DirectoryEntry(site_id=site, name_zh_hans="值班经理", name_zh_hant="值班經理", name_en="Duty manager",
                                  phone="13900000000", public=False, sort_order=0)])
    with unit_of_work(factory) as s:
        public = directory.public_directory(s, site, "en")
        everyone = directory.staff_directory(s, site, "zh_Hans")
    assert [(e.name, e.phone) for e in public] == [("Service desk", "020-88880001")]
    assert "13900000000" not in repr(public) and [e.name for e in everyone] == ["值班经理", "客服中心"]


def _event(s, site, title, *, tier=None, capacity=2, days=3):
    e = MemberEvent(site_id=site, title_zh_hans=title, title_zh_hant=title, title_en=title,
                    starts_at=NOW + timedelta(days=days), capacity=capacity, audience_tier=tier)
    s.add(e)
    s.flush()
    return e.id


def test_events_are_visible_by_tier_and_sign_up_is_once_per_household_within_capacity(factory, mini):
    site = mini.till.site_id
    hh0, hh1 = mini.household_ids
    with unit_of_work(factory) as s:
        open_id = _event(s, site, "open", capacity=1)
        gold_id = _event(s, site, "gold", tier="gold")
        _event(s, site, "past", days=-1)
        s.add(Resident(household_id=hh1, name="金", tier=str(MemberTier.GOLD)))
    with unit_of_work(factory) as s:
        assert [e.title for e in member_events.visible_events(s, site, None, "en", NOW)] == ["open"]
        assert [e.title for e in member_events.visible_events(s, site, "gold", "en", NOW)] == ["open", "gold"]
        ref = member_events.sign_up(s, event_id=open_id, household_id=hh0, actor="unit:1-0101", now=NOW)
    assert ref.reference.startswith("E")
    for event_id, hh, error in ((open_id, hh0, AlreadyDone), (open_id, hh1, SlotUnavailable), (gold_id, hh0, NotFound)):
        with pytest.raises(error):
            with unit_of_work(factory) as s:
                member_events.sign_up(s, event_id=event_id, household_id=hh, actor="unit", now=NOW)
    with unit_of_work(factory) as s:
        member_events.sign_up(s, event_id=gold_id, household_id=hh1, actor="unit:1-0201", now=NOW)


@pytest.mark.parametrize("phone,ok", [("138 0013 8000", "13800138000"), ("+86-139-0000-0000", "13900000000"),
                                      ("020-88881234", "02088881234"), ("12345", None), ("1380013800a", None)])
def test_callback_phone_is_validated(phone, ok):
    if ok:
        assert callbacks.normalize_phone(phone) == ok
    else:
        with pytest.raises(InvalidEntry):
            callbacks.normalize_phone(phone)


def test_callback_is_listed_for_staff_until_marked_done(factory, mini):
    with unit_of_work(factory) as s:
        req = callbacks.request_callback(s, mini.till, phone="13800138000", topic="repair", note="漏水",
                                         language="en")
        with pytest.raises(InvalidEntry):
            callbacks.request_callback(s, mini.till, phone="13800138000", topic="gossip")
    assert req.topic_label == "Repairs"
    with unit_of_work(factory) as s:
        assert [c.reference for c in callbacks.open_callbacks(s, mini.till.site_id, "en")] == [req.reference]
        callbacks.mark_done(s, callback_id=req.callback_id, staff_name="王芳")
    with unit_of_work(factory) as s:
        assert callbacks.open_callbacks(s, mini.till.site_id, "en") == ()
        assert callbacks.open_callbacks(s, mini.till.site_id, "en", include_done=True)[0].done_by == "王芳"
    with pytest.raises(AlreadyDone):
        with unit_of_work(factory) as s:
            callbacks.mark_done(s, callback_id=req.callback_id, staff_name="王芳")
    assert "callback.done" in audit_actions(factory)


BANKS = {"ICBC": "中国工商银行", "CCB": "中国建设银行"}
SECRET = b"site-secret-0123456789abcdef"


def test_direct_debit_keeps_only_the_mask_and_a_keyed_hash(factory, mini):
    hh = mini.household_ids[0]
    number = "6222 0212 3456 1234"
    with unit_of_work(factory) as s:
        res = direct_debit.sign_up(s, mini.till, household_id=hh, bank_code="ICBC", account_number=number,
                                   holder_name="张三", banks=BANKS, secret=SECRET, language="en")
    assert res.account_masked == "6222 **** **** 1234" and res.receipt_number
    with unit_of_work(factory) as s:
        row = s.scalars(select(DirectDebitMandate)).one()
        stored = " ".join(str(v) for v in vars(row).values())
        assert "6222021234561234" not in stored and "02123456" not in stored
        assert row.account_hash == direct_debit.account_hash("6222021234561234", SECRET)
    with pytest.raises(AlreadyDone):
        with unit_of_work(factory) as s:
            direct_debit.sign_up(s, mini.till, household_id=hh, bank_code="ICBC", account_number=number,
                                 holder_name="张三", banks=BANKS, secret=SECRET, language="en")


@pytest.mark.parametrize("bank,number,luhn", [("HSBC", "622202123456123", False), ("ICBC", "12345678901", False),
                                              ("ICBC", "62220212345612341234", False), ("ICBC", "6222021234561235", True)])
def test_direct_debit_refuses_unknown_bank_and_bad_numbers(factory, mini, bank, number, luhn):
    with pytest.raises(InvalidEntry):
        with unit_of_work(factory) as s:
            direct_debit.sign_up(s, mini.till, household_id=mini.household_ids[0], bank_code=bank,
                                 account_number=number, holder_name="张三", banks=BANKS, secret=SECRET, language="en",
                                 require_luhn=luhn)


def test_luhn_check():
    assert direct_debit.luhn_ok("79927398713") and not direct_debit.luhn_ok("79927398710")


def test_two_households_racing_for_the_last_event_place_one_gets_it(factory, mini):
    with unit_of_work(factory) as s:
        event_id = _event(s, mini.till.site_id, "last seat", capacity=1)
    barrier = threading.Barrier(2)

    def attempt(hh):
        barrier.wait()
        try:
            with unit_of_work(factory) as s:
                return member_events.sign_up(s, event_id=event_id, household_id=hh, actor="unit", now=NOW)
        except KioskError as exc:
            return exc

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(attempt, mini.household_ids))
    assert sorted(type(r).__name__ for r in results) == ["SignupResult", "SlotUnavailable"]


def test_callback_request_prints_a_slip_with_its_reference_and_a_masked_phone(factory, mini):
    from sqlalchemy import select

    from kiosk.domain.receipt import ReceiptKind
    from kiosk.persistence.models import PrintJob, Receipt
    from kiosk.services import receipts

    with unit_of_work(factory) as s:
        req = callbacks.request_callback(s, mini.till, phone="13800138000", topic="repair", language="zh_Hans")
    with unit_of_work(factory) as s:
        row = s.scalars(select(Receipt).where(Receipt.kind == str(ReceiptKind.CALLBACK))).one()
        doc = receipts.document(row)
        assert s.scalars(select(PrintJob.status).where(PrintJob.receipt_id == row.id)).one() == "queued"
    values = dict(doc.fields)
    assert req.reference in values.values() and "138****8000" in values.values()
    assert "13800138000" not in doc.to_json()
