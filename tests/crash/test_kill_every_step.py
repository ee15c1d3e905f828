"""Kill at every step: each money flow runs in a kiosk process that is SIGKILLed at one of its kill points (every
database commit and device I/O boundary, both sides, enumerated by the process itself); the kiosk is started
again on the same database and devices, recovers, every card is tapped, and then nothing may be lost, doubled
or left half done (tests.crash.invariants) and `kiosk audit verify` must pass. Which points a run covers:
tests.crash.selection (a rotating CI slice, KIOSK_CRASH=all, KIOSK_CRASH_RANDOM=N)."""
from __future__ import annotations

import pytest

from tests.crash import flows, selection
from tests.crash.conftest import REPORT

MIN_POINTS = 150
# every point (KIOSK_CRASH=all) or N random runs take longer than the suite's per-test limit: no limit then
LONG = pytest.mark.timeout(0 if selection.every_point() or selection.random_runs() else 300)


def test_each_flow_completes_the_same_way_twice_and_the_restart_finds_nothing_wrong(sqlite_rig):
    for flow, labels in sqlite_rig.labels.items():
        assert labels, f"{flow} reached no kill point"
        assert sqlite_rig.clean[flow].findings == [], flow
    assert sum(sqlite_rig.counts.values()) >= MIN_POINTS, sqlite_rig.counts


def test_kill_points_cover_commits_card_cash_and_gateway_on_both_sides(sqlite_rig):
    every = [label for labels in sqlite_rig.labels.values() for label in labels]
    for kind in ("db.commit", "reader.write", "cash.write", "gateway POST", "gateway GET"):
        assert any(f"before {kind}" in label for label in every), kind
        assert any(f"after {kind}" in label for label in every), kind
    assert any(label.startswith("after reader.reply") for label in every)
    assert any(label.startswith("after cash.reply") for label in every)


def _run_plan(rig_, flow: str, points: list[int]) -> list[str]:
    return [f"#{v.point} {v.label}: {f}" for v in rig_.run_many(flow, points) for f in v.findings]


@LONG
@pytest.mark.parametrize("flow", flows.TESTED_FLOWS)
def test_kiosk_killed_at_each_step_recovers_without_losing_or_doubling_money_sqlite(sqlite_rig, rotation, flow):
    p = selection.plan(sqlite_rig.counts, selection.sample_size("sqlite"), rotation, selection.every_point())
    if flow == flows.TESTED_FLOWS[0]:
        REPORT.notes.append(f"sqlite: slice {p.slice_no + 1} of {p.slices} ({p.total} points)")
    assert _run_plan(sqlite_rig, flow, p.points[flow]) == []


@LONG
@pytest.mark.parametrize("flow", flows.TESTED_FLOWS)
def test_kiosk_killed_at_each_step_recovers_without_losing_or_doubling_money_postgres(postgres_rig, rotation, flow):
    p = selection.plan(postgres_rig.counts, selection.sample_size("postgres"), rotation, selection.every_point())
    if flow == flows.TESTED_FLOWS[0]:
        REPORT.notes.append(f"postgres: slice {p.slice_no + 1} of {p.slices} ({p.total} points)")
    assert _run_plan(postgres_rig, flow, p.points[flow]) == []


@LONG
@pytest.mark.skipif(not selection.random_runs(), reason="KIOSK_CRASH_RANDOM=N runs N random crashes")
def test_random_crashes_including_a_second_one_during_recovery(sqlite_rig):
    seed = selection.random_seed()
    REPORT.notes.append(f"random: {selection.random_runs()} runs, KIOSK_CRASH_SEED={seed}")
    runs = [(r.flow, r.point, r.restart_kill) for r in selection.random_plan(sqlite_rig.counts,
                                                                            selection.random_runs(), seed)]
    verdicts = sqlite_rig.run_each(runs)
    assert [f"{v.flow} #{v.point} then #{v.restart_point}: {f}" for v in verdicts for f in v.findings] == []
