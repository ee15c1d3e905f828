"""Start-up behind the window: the attract screen from the last known content, other calls wait for the runtime."""
from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from kiosk.errors import KioskStarting, StorageError
from kiosk.flows.attract_snapshot import AttractSnapshot, decode, encode
from tests.support.fakes.services import FakeKioskServices
from kiosk.flows.navigator import Navigator
from kiosk.flows.records import NoticeView, ServiceStatus
from kiosk.flows.runner import InlineRunner
from kiosk.flows.session import Session
from kiosk.flows.starting import BackgroundStart, ServicesFailed, ServicesReady, StartingServices
from kiosk.runtime.events import EventBus
from tests.flows.conftest import NOW


def _remembered(tmp_path: Path, fake: FakeKioskServices) -> AttractSnapshot:
    """A snapshot as the previous run left it: what the services answered for the attract screen."""
    services = StartingServices(AttractSnapshot(tmp_path / "snap.json"))
    services.attach(fake)
    services.site_info()
    services.service_status()
    services.current_notices(None, "zh_Hans", NOW)
    return AttractSnapshot(tmp_path / "snap.json")


def test_snapshot_round_trips_site_status_and_notices(tmp_path, fake):
    snap = _remembered(tmp_path, fake)
    assert snap.content.site == fake.site_info()
    assert snap.content.status == ServiceStatus(fake.service_status().out_of_service, fake.service_status().reason)
    assert snap.content.notices["zh_Hans"] == fake.current_notices(None, "zh_Hans", NOW)
    assert decode(encode(snap.content)) == snap.content


def test_snapshot_is_rewritten_only_when_the_content_changed(tmp_path, fake):
    snap = _remembered(tmp_path, fake)
    path = tmp_path / "snap.json"
    before = path.stat().st_mtime_ns
    time.sleep(0.01)
    snap.remember_site(fake.site_info())
    assert path.stat().st_mtime_ns == before
    snap.remember_notices("en", ())
    assert path.stat().st_mtime_ns != before


@pytest.mark.parametrize("text", ["{not json", '{"version": 99, "notices": {}}',
                                  '{"version": 1, "notices": {"en": [{"title": "no id"}]}}'])
def test_unreadable_snapshot_is_ignored_and_the_screen_waits_for_the_services(tmp_path, text, caplog):
    path = tmp_path / "snap.json"
    path.write_text(text, encoding="utf-8")
    snap = AttractSnapshot(path)
    assert snap.content.site is None and snap.content.notices == {}
    assert "unreadable" in caplog.text


def test_snapshot_refuses_a_fee_that_is_not_integer_fen(tmp_path, fake):
    data = encode(_remembered(tmp_path, fake).content)
    data["site"]["card_replacement_fee_fen"] = 20.0
    with pytest.raises(TypeError):
        decode(json.loads(json.dumps(data)))


def test_remembered_notices_that_expired_since_are_not_shown(tmp_path):
    snap = AttractSnapshot(tmp_path / "snap.json")
    old = NoticeView("n1", "general", "Lift repair", "…", NOW - timedelta(days=3), NOW + timedelta(hours=1))
    keep = NoticeView("n2", "general", "Water off", "…", NOW - timedelta(days=1), None)
    snap.remember_notices("en", (old, keep))
    later = AttractSnapshot(tmp_path / "snap.json")
    assert later.notices("en", NOW + timedelta(hours=2)) == (keep,)
    assert later.notices("zh_Hant", NOW) is None


def test_attract_screen_is_ready_from_the_snapshot_before_the_runtime_starts(tmp_path, fake):
    services = StartingServices(_remembered(tmp_path, fake), wait_s=0.2)
    nav = Navigator(services, Session(), InlineRunner(), clock=lambda: NOW)
    nav.go("attract")
    view = nav.flow.view()
    assert str(view.step) == "ready"
    assert view.greeting and fake.site_info().name("zh_Hans") in view.greeting
    assert view.notice is not None and fake.current_notices(None, "zh_Hans", NOW)[0].title in view.notice.title


def test_other_calls_wait_for_the_runtime_then_reach_it(tmp_path, fake):
    services = StartingServices(_remembered(tmp_path, fake), wait_s=5)
    answers: list[object] = []
    caller = threading.Thread(target=lambda: answers.append(services.directory("en")))
    caller.start()
    time.sleep(0.1)
    assert answers == [] and caller.is_alive()  # still waiting for the start
    services.attach(fake)
    caller.join(2)
    assert answers == [fake.directory("en")]


def test_a_call_that_waits_too_long_says_the_kiosk_is_still_starting(tmp_path, fake):
    services = StartingServices(AttractSnapshot(tmp_path / "none.json"), wait_s=0.05)
    with pytest.raises(KioskStarting):
        services.identify_card("A1B2C3D4")
    with pytest.raises(KioskStarting):  # nothing remembered: the attract content waits too
        services.site_info()


def test_household_notices_are_never_served_from_disk(tmp_path, fake):
    services = StartingServices(_remembered(tmp_path, fake), wait_s=0.05)
    with pytest.raises(KioskStarting):
        services.current_notices("member", "zh_Hans", NOW)


def test_fresh_content_replaces_the_snapshot_once_the_runtime_answers(tmp_path, fake):
    snap = _remembered(tmp_path, fake)
    services = StartingServices(snap)
    fresh = FakeKioskServices(now=NOW)
    fresh.notices = ()  # staff withdrew every notice while the kiosk was off
    services.attach(fresh)
    assert services.current_notices(None, "zh_Hans", NOW) == ()
    assert AttractSnapshot(tmp_path / "snap.json").notices("zh_Hans", NOW) == ()


def test_background_start_hands_over_the_services_and_announces_it(tmp_path, fake):
    bus, events = EventBus(), []
    bus.subscribe(object, events.append)
    services = StartingServices(AttractSnapshot(tmp_path / "snap.json"))
    starts: list[int] = []
    startup = BackgroundStart(lambda: starts.append(1) or "runtime", services, bus, lambda _rt: fake,
                              lambda _rt: "demo controls")
    assert startup.finish() is None  # never begun: nothing to stop
    startup.begin()
    startup.begin()
    assert startup.finish(5) == "runtime"
    assert starts == [1]
    assert services.ready and services.directory("en") == fake.directory("en")
    assert events == [ServicesReady("demo controls")]


def test_the_collector_is_off_during_a_start_attempt_and_on_while_the_database_is_waited_for(tmp_path, fake):
    """The start's imports and runtime are objects that live on: the collector is paused while a start attempt runs
    (the window collects and freezes them once usable), and on again after it, and while a start waits for the
    estate database, which may take hours."""
    import gc

    services = StartingServices(AttractSnapshot(tmp_path / "snap.json"))
    answers, seen = iter([(False, "gone"), (True, "")]), {}

    def probe() -> tuple[bool, str]:
        seen.setdefault("waiting", gc.isenabled())
        return next(answers)

    startup = BackgroundStart(lambda: seen.setdefault("starting", gc.isenabled()) or "runtime", services, EventBus(),
                              lambda _rt: fake, probe=probe, retry_s=0.01,
                              prepare=lambda: seen.setdefault("preparing", gc.isenabled()))
    assert gc.isenabled()
    startup.begin()
    deadline = time.monotonic() + 5
    while startup.started is None and time.monotonic() < deadline:  # finish() would end the wait for the database
        time.sleep(0.01)
    assert startup.finish(5) == "runtime"
    assert seen == {"waiting": True, "preparing": True, "starting": False} and gc.isenabled()


def test_failed_start_is_announced_to_the_window_and_raised_to_the_command(tmp_path):
    bus, events = EventBus(), []
    bus.subscribe(object, events.append)
    services = StartingServices(AttractSnapshot(tmp_path / "snap.json"))

    def start() -> str:
        raise StorageError("database unreachable")

    startup = BackgroundStart(start, services, bus, lambda rt: rt)
    startup.begin()
    with pytest.raises(StorageError):
        startup.finish(5)
    assert events == [ServicesFailed(StorageError.code, str(StorageError("database unreachable")))]
    with pytest.raises(StorageError):  # a worker still waiting gets the same error, not a hang
        services.directory("en")


def test_unexpected_start_failure_carries_a_reference(tmp_path):
    bus, events = EventBus(), []
    bus.subscribe(object, events.append)
    startup = BackgroundStart(lambda: 1 / 0, StartingServices(AttractSnapshot(tmp_path / "s.json")), bus, lambda r: r)
    startup.begin()
    with pytest.raises(ZeroDivisionError):
        startup.finish(5)
    assert events[0].code == "E8002" and "START" in events[0].message


def test_naive_expiry_times_are_site_wall_times_compared_with_an_aware_clock(tmp_path):
    from kiosk.domain.site_clock import to_utc

    snap = AttractSnapshot(tmp_path / "snap.json")
    snap.remember_notices("en", (NoticeView("n1", "g", "t", "b", NOW, NOW + timedelta(hours=1)),))
    assert len(snap.notices("en", to_utc(NOW))) == 1
    assert len(snap.notices("en", to_utc(NOW + timedelta(minutes=59)))) == 1
    assert snap.notices("en", to_utc(NOW + timedelta(hours=2))) == ()
