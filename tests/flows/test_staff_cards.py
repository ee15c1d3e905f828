"""Staff card repair flow (Kivy-free, fake services): flagged list, a tapped card checked against the ledger,
rewritten after a confirmation; cancel, timeout, reader failure and a pulled card end on a clear step."""
from __future__ import annotations

from kiosk import errors
from tests.support.fakes.card_repair import FLAGGED_DEMO_UID, FakeCardData
from kiosk.flows.navigator import Navigator
from kiosk.flows.runner import InlineRunner
from kiosk.flows.session import Session
from tests.flows.conftest import NOW


def _staff(nav) -> None:  # type: ignore[no-untyped-def]
    nav.go("staff_unlock")
    for d in "2468":
        nav.flow.key(d)
    nav.flow.submit()
    assert nav.route.name == "staff_home"


def _open(nav) -> None:  # type: ignore[no-untyped-def]
    _staff(nav)
    nav.flow.open("staff_cards")
    assert nav.route.name == "staff_cards"


def test_flagged_cards_are_listed_with_unit_masked_number_kind_reason_and_time(nav, fake):
    _open(nav)
    view = nav.flow.view()
    assert view.step == "list" and view.title == "卡片修复"
    ((label, value),) = view.lines
    assert label.startswith("3栋-**08 · 0001-") and "住户卡 · E4005 卡内数据未通过安全校验 (card holds 9900 fen" in value
    assert ("S1", "list flagged cards") in fake.audit


def test_tapped_card_is_checked_repaired_and_then_accepted_at_a_resident_tap(nav, fake):
    _open(nav)
    nav.flow.card_tapped(FLAGGED_DEMO_UID)
    view = nav.flow.view()
    assert view.step == "card" and view.primary == "按账本重写"
    lines = dict(view.lines)
    assert lines["卡内"] == "¥99.00 · 计数 4" and lines["账本"] == "¥15.00 · 计数 4"
    assert lines["标记原因"].startswith("E4005 卡内数据未通过安全校验") and lines["安全校验（MAC）"] == "通过"
    nav.flow.primary()
    assert nav.flow.view().step == "confirm" and dict(nav.flow.view().lines)["卡将存有"] == "¥15.00"
    nav.flow.primary()
    view = nav.flow.view()
    assert view.step == "done" and view.prompt == "卡片已修复：余额 ¥15.00"
    assert dict(view.lines)["计数"] == "4 → 5" and ("S1", f"repair card {FLAGGED_DEMO_UID}") in fake.audit
    assert fake.flagged_cards("S1") == ()
    nav.flow.primary()
    assert nav.flow.view().step == "list" and nav.flow.view().lines == (("", "没有被标记的卡。"),)
    nav.flow.back()
    nav.flow.lock()
    nav.flow.card_tapped(FLAGGED_DEMO_UID)  # the resident's tap now signs in
    assert nav.route.name == "household"


def test_flagged_card_is_refused_at_a_resident_tap_until_repaired(nav):
    nav.flow.card_tapped(FLAGGED_DEMO_UID)
    assert nav.route.name == "identify" and nav.flow.view().error.code == "E4014"


def test_card_that_agrees_with_the_ledger_offers_no_rewrite(nav):
    _open(nav)
    nav.flow.card_tapped("A1B2C3D4")
    view = nav.flow.view()
    assert view.step == "card" and view.primary == "返回列表"
    assert ("", "卡与账本一致，无需修复。") in view.lines
    nav.flow.primary()
    assert nav.flow.view().step == "list"


def test_tapped_card_goes_to_this_flow_not_to_the_resident_sign_in(nav):
    _open(nav)
    nav.flow.card_tapped("A1B2C3D4")
    assert nav.route.name == "staff_cards" and nav.session.identity is None


def test_card_with_foreign_keys_shows_the_error_and_what_to_do(nav, fake):
    _open(nav)
    fake.fail("check_card", errors.CardForeignKeys("sector 1"))
    nav.flow.card_tapped(FLAGGED_DEMO_UID)
    view = nav.flow.view()
    assert view.step == "failed" and view.error.code == "E4012"
    assert "补办" in view.error.hint and view.primary == "返回列表"


def test_lost_card_is_refused(nav):
    _open(nav)
    nav.flow.card_tapped("DEADBEEF")
    assert nav.flow.view().error.code == "E4001"


def test_reader_failure_while_checking_says_to_check_the_reader(nav, fake):
    _open(nav)
    fake.fail("check_card", errors.DeviceUnavailable(device="card reader"))
    nav.flow.card_tapped(FLAGGED_DEMO_UID)
    view = nav.flow.view()
    assert view.error.code == "E6001" and "设备" in view.error.hint


def test_card_pulled_during_the_rewrite_says_to_put_it_back_and_rewrite_again(nav, fake):
    _open(nav)
    nav.flow.card_tapped(FLAGGED_DEMO_UID)
    nav.flow.primary()
    fake.fail("repair_card", errors.CardWritePending("card left", reference="card operation 7"))
    nav.flow.primary()
    view = nav.flow.view()
    assert view.step == "failed" and view.error.code == "E4010" and "不会重复" in view.error.hint
    assert fake.flagged_cards("S1")  # still flagged: the next check and rewrite finish it
    nav.flow.card_tapped(FLAGGED_DEMO_UID)
    nav.flow.primary()
    nav.flow.primary()
    assert nav.flow.view().step == "done"


def _deferred(fake) -> tuple[Navigator, InlineRunner]:  # type: ignore[no-untyped-def]
    runner = InlineRunner(defer=True)
    nav = Navigator(fake, Session(), runner, clock=lambda: NOW)
    nav.go("attract")
    runner.run_pending()
    _staff_deferred(nav, runner)
    nav.go("staff_cards")
    runner.run_pending()
    return nav, runner


def _staff_deferred(nav, runner) -> None:  # type: ignore[no-untyped-def]
    nav.go("staff_unlock")
    for d in "2468":
        nav.flow.key(d)
    nav.flow.submit()
    runner.run_pending()
    runner.run_pending()


def test_check_shows_progress_and_can_be_cancelled_back_to_the_list(fake):
    nav, runner = _deferred(fake)
    nav.flow.card_tapped(FLAGGED_DEMO_UID)
    view = nav.flow.view()
    assert view.step == "checking" and view.progress.text == "正在读卡，请稍候" and view.progress.can_cancel
    nav.flow.cancel()
    runner.run_pending()
    runner.run_pending()
    assert nav.flow.view().step == "list" and "check_card" in fake.calls


def test_check_that_times_out_says_so_and_the_card_can_be_tapped_again(fake):
    nav, runner = _deferred(fake)
    nav.flow.card_tapped(FLAGGED_DEMO_UID)
    runner.expire_pending()
    view = nav.flow.view()
    assert view.step == "failed" and view.error.code == "E8001" and "不会重复" in view.error.hint
    nav.flow.card_tapped(FLAGGED_DEMO_UID)
    runner.run_pending()
    assert nav.flow.view().step == "card"


def test_rewrite_that_times_out_is_not_reported_as_done(fake):
    nav, runner = _deferred(fake)
    nav.flow.card_tapped(FLAGGED_DEMO_UID)
    runner.run_pending()
    nav.flow.primary()
    nav.flow.primary()
    view = nav.flow.view()
    assert view.step == "repairing" and view.progress.can_cancel is False
    runner.expire_pending()
    assert nav.flow.view().step == "failed" and nav.flow.view().error.code == "E8001"


def test_taps_while_the_card_is_being_read_are_ignored(fake):
    nav, runner = _deferred(fake)
    nav.flow.card_tapped(FLAGGED_DEMO_UID)
    nav.flow.card_tapped("A1B2C3D4")
    runner.run_pending()
    assert nav.flow.view().step == "card" and nav.flow.check.card_uid == FLAGGED_DEMO_UID


def test_unreadable_card_is_said_in_words(nav, fake):
    fake.flag_card("11223344", FakeCardData(None, 2, False, record_ok=False), "E4005 not a kiosk card (magic)")
    _open(nav)
    nav.flow.card_tapped("11223344")
    lines = dict(nav.flow.view().lines)
    assert lines["卡内"] == "[ ! ] 无法读取" and lines["安全校验（MAC）"] == "[ ! ] 未通过"
    assert lines["卡片记录"] == "[ ! ] 与账本不符"


def test_card_repair_needs_a_staff_sign_in(signed_in):
    signed_in.go("staff_cards")
    assert signed_in.route.name == "staff_unlock"
