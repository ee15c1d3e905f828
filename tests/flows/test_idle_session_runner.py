"""Idle policy, session wipe, route registry and the threaded runner's timeout/cancel/unexpected paths."""
from __future__ import annotations

import threading

import pytest

from kiosk.errors import NotFound, RequestTimedOut
from kiosk.flows.idle import IdlePhase, IdlePolicy, IdleTracker
from kiosk.flows.routes import ROUTES, Role
from kiosk.flows.runner import ThreadRunner, UnexpectedError
from kiosk.flows.session import Session


def test_idle_policy_refuses_a_warning_shorter_than_20_seconds():
    with pytest.raises(ValueError):
        IdlePolicy(timeout_s=60, warning_s=10)


def test_idle_tracker_warns_after_timeout_then_expires_after_warning():
    tracker = IdleTracker(IdlePolicy(60, 20), now=0)
    assert tracker.phase(59.9) is IdlePhase.ACTIVE and tracker.next_change(10) == 50
    assert tracker.phase(60) is IdlePhase.WARNING and tracker.seconds_left(65) == 15
    assert tracker.phase(80) is IdlePhase.EXPIRED
    tracker.touch(70)
    assert tracker.phase(80) is IdlePhase.ACTIVE


def test_staff_mode_locks_after_two_idle_minutes():
    tracker = IdleTracker(IdlePolicy(), now=0)
    tracker.staff = True
    assert tracker.phase(100) is IdlePhase.ACTIVE and tracker.phase(125) is IdlePhase.WARNING


def test_session_wipe_forgets_everything_personal(signed_in):
    session = signed_in.session
    session.set_language("en")
    session.large_text = True
    old_id = session.session_id
    signed_in.end_session()
    assert session.identity is None and session.staff is None and session.language == "zh_Hans"
    assert not session.large_text and session.session_id != old_id and signed_in.route.name == "attract"


def test_results_of_a_wiped_session_are_dropped(fake):
    from kiosk.flows.navigator import Navigator
    from kiosk.flows.runner import InlineRunner

    runner = InlineRunner(defer=True)
    nav = Navigator(fake, Session(), runner)
    nav.go("attract")
    runner.run_pending()
    nav.flow.card_tapped("A1B2C3D4")
    nav.end_session()
    runner.run_pending()  # the identify answer arrives after the wipe
    assert nav.session.identity is None and nav.route.name == "attract"


def test_every_personal_route_is_wiped_by_idle_and_roles_are_declared():
    assert ROUTES["household"].role is Role.RESIDENT and ROUTES["household"].personal
    assert ROUTES["staff_home"].role is Role.STAFF
    assert not ROUTES["attract"].personal


def _posting_runner():
    posted: list = []
    event = threading.Event()

    def post(fn):
        posted.append(fn)
        event.set()
    return ThreadRunner(post), posted, event


def _drain(posted):
    while posted:
        posted.pop(0)()


def test_thread_runner_delivers_results_through_post():
    runner, posted, event = _posting_runner()
    got = []
    runner.submit("x", lambda: 42, got.append, got.append, timeout_s=5)
    assert event.wait(5)
    _drain(posted)
    assert got == [42]
    runner.shutdown()


def test_thread_runner_times_out_and_ignores_the_late_answer():
    runner, posted, event = _posting_runner()
    gate = threading.Event()
    got = []
    runner.submit("slow", lambda: gate.wait(5) and "late", got.append, got.append, timeout_s=0.05)
    assert event.wait(5)
    _drain(posted)
    gate.set()
    runner.shutdown()
    runner._pool.shutdown(wait=True)
    _drain(posted)
    assert len(got) == 1 and isinstance(got[0], RequestTimedOut)


def test_thread_runner_passes_kiosk_errors_and_raises_unexpected_ones_on_the_ui_thread():
    runner, posted, event = _posting_runner()
    got = []

    def bad():
        raise NotFound("x")
    runner.submit("bad", bad, got.append, got.append, timeout_s=5)
    assert event.wait(5)
    _drain(posted)
    assert isinstance(got[0], NotFound)
    event.clear()

    def crash():
        raise ZeroDivisionError
    runner.submit("crash", crash, got.append, got.append, timeout_s=5)
    assert event.wait(5)
    with pytest.raises(UnexpectedError) as info:
        _drain(posted)
    assert len(info.value.reference) == 8
    runner.shutdown()


def test_cancelled_job_ignores_its_result():
    runner, posted, event = _posting_runner()
    gate = threading.Event()
    got, cancelled = [], []
    job = runner.submit("c", lambda: gate.wait(5), got.append, got.append, timeout_s=5,
                        on_cancel=lambda: cancelled.append(True))
    assert job.cancel() and cancelled == [True]
    gate.set()
    runner.shutdown()
    runner._pool.shutdown(wait=True)
    _drain(posted)
    assert got == []
