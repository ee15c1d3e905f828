"""Power loss: while a kiosk process pays (every flow, SQLite), a thread copies the database, its WAL and its
index at random moments without the kiosk knowing; every copy must pass SQLite's integrity check, the ledger's
rules and the audit chain. The kiosk folds its WAL into the database every 2 pages here (SQLite's default is
1000), so copies also land while a checkpoint rewrites the main file.

KIOSK_CRASH_POWER=N repeats each flow N times (default 1); KIOSK_CRASH_SEED fixes the copy moments."""
from __future__ import annotations

import os
import random

import pytest

from kiosk import settings as settings_mod
from tests.crash import flows, powerloss, rig, selection
from tests.crash.conftest import REPORT


@pytest.mark.parametrize("flow", flows.TESTED_FLOWS)
def test_database_copied_at_any_moment_of_a_payment_opens_sound(sqlite_rig, flow):
    seed = selection.random_seed()
    rng = random.Random(f"{seed}-{flow}")
    findings, copies, retaken = [], 0, 0
    for round_no in range(int(os.environ.get("KIOSK_CRASH_POWER", "1"))):
        world = rig.World(sqlite_rig.template, sqlite_rig.root / f"power-{flow}-{round_no}")
        audit_key = bytes.fromhex(settings_mod.load_secrets(world.data_dir).audit_key)
        copier = powerloss.Copier(world.db_path, world.run_dir / "copies", rng, max_gap_s=0.02)
        copier.start()
        try:
            run = world.run(world.job("flow", flow=flow, wal_autocheckpoint=2))
        finally:
            taken = copier.stop()
            world.close()
        assert run.done is not None and "receipt" in run.done["outcome"], run
        if run.first_act_s is not None:
            SPANS.setdefault(flow, run.seconds - run.first_act_s)
        copies += len(taken)
        retaken += copier.retaken
        for copy in taken:
            findings += powerloss.check_copy(copy, audit_key)
    REPORT.notes.append(f"power loss {flow}: {copies} copies checked ({retaken} taken again), seed {seed}")
    assert copies >= 5
    assert findings == []


# The kiosk killed (SIGKILL from outside, at a random instant between its first device action and the end of its
# flow: inside a statement, an fsync or a checkpoint as it falls, not at one of the harness's kill points) while the
# copier runs; the files as the killed process left them are copied once more. Every copy must open sound. CI runs
# one flow (drawn with the session's seed); KIOSK_CRASH_POWER_KILLS=N kills every flow N times.
KILL_ROUNDS = int(os.environ.get("KIOSK_CRASH_POWER_KILLS", "0") or 0)
KILL_FLOWS = flows.TESTED_FLOWS if KILL_ROUNDS else (random.Random(selection.random_seed()).choice(flows.TESTED_FLOWS),)
SPANS: dict[str, float] = {}  # flow -> seconds from its first device action to its end, from the test above


def _span(flow: str, sqlite_rig) -> float:  # type: ignore[no-untyped-def]
    if flow not in SPANS:  # the test above did not run in this session (-k): measure the flow once
        world = rig.World(sqlite_rig.template, sqlite_rig.root / f"power-span-{flow}")
        try:
            run = world.run(world.job("flow", flow=flow, wal_autocheckpoint=2))
        finally:
            world.close()
        assert run.first_act_s is not None, run
        SPANS[flow] = run.seconds - run.first_act_s
    return SPANS[flow]


@pytest.mark.parametrize("flow", KILL_FLOWS)
def test_kiosk_killed_at_a_random_instant_of_a_payment_leaves_files_that_open_sound(sqlite_rig, flow):
    seed = selection.random_seed()
    rng = random.Random(f"{seed}-kill-{flow}")
    span = _span(flow, sqlite_rig)
    findings, copies, killed, instants = [], 0, 0, []
    for round_no in range(max(1, KILL_ROUNDS)):
        after = rng.uniform(0, 0.8 * span)
        for attempt in range(3):  # a run that finished before its instant is run again with half the time
            world = rig.World(sqlite_rig.template, sqlite_rig.root / f"power-kill-{flow}-{round_no}-{attempt}")
            audit_key = bytes.fromhex(settings_mod.load_secrets(world.data_dir).audit_key)
            copier = powerloss.Copier(world.db_path, world.run_dir / "copies", rng, max_gap_s=0.02)
            copier.start()
            try:
                run = world.run(world.job("flow", flow=flow, wal_autocheckpoint=2), kill_after_first_act_s=after)
            finally:
                taken = copier.stop()
                world.close()
            assert run.first_act_s is not None and run.error is None, run
            taken.append(copier.copy_once())  # the files as the killed process left them
            copies += len(taken)
            for copy in taken:
                findings += powerloss.check_copy(copy, audit_key)
            instants.append(f"{after:.2f}{'' if run.killed else ' (finished first)'}")
            if run.killed:
                killed += 1
                break
            after /= 2
    REPORT.notes.append(f"power loss, killed {flow}: {killed} kills at s after the first device action "
                        f"{', '.join(instants)} (the flow takes {span:.2f} s from there), {copies} copies checked, "
                        f"seed {seed}")
    assert findings == []
    assert killed == max(1, KILL_ROUNDS)
