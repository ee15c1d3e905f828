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
        copies += len(taken)
        retaken += copier.retaken
        for copy in taken:
            findings += powerloss.check_copy(copy, audit_key)
    REPORT.notes.append(f"power loss {flow}: {copies} copies checked ({retaken} taken again), seed {seed}")
    assert copies >= 5
    assert findings == []
