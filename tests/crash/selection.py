"""Which kill points a test run covers.

- default (CI): a slice of every flow's points, chosen by a rotation key that moves on with each commit
  (`git rev-list --count HEAD`), so that consecutive commits run consecutive slices and every point runs
  within `slices` commits. The slice size is KIOSK_CRASH_SAMPLE points (SQLite) and KIOSK_CRASH_PG_SAMPLE
  (PostgreSQL); KIOSK_CRASH_ROTATION pins the key (e.g. to run the slice a failure was seen in).
- KIOSK_CRASH=all: every point once, on SQLite and on PostgreSQL.
- KIOSK_CRASH_RANDOM=N: N runs at random points of random flows (a quarter of them killed a second time
  during the restart's own recovery), seeded by KIOSK_CRASH_SEED (printed, so a run can be repeated).
"""
from __future__ import annotations

import math
import os
import random
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SAMPLE = 163  # SQLite points per CI run: a fifth of them, every point within 5 commits
DEFAULT_PG_SAMPLE = 21


def every_point() -> bool:
    return os.environ.get("KIOSK_CRASH", "").strip().lower() == "all"


def random_runs() -> int:
    return int(os.environ.get("KIOSK_CRASH_RANDOM", "0") or 0)


_SEED = int(os.environ.get("KIOSK_CRASH_SEED", "") or time.time())


def random_seed() -> int:
    """One seed for the session: KIOSK_CRASH_SEED, else the time the session started."""
    return _SEED


def rotation_key() -> int:
    """KIOSK_CRASH_ROTATION, else the number of commits (one more with every commit), else the day."""
    raw = os.environ.get("KIOSK_CRASH_ROTATION", "")
    if raw:
        return int(raw)
    try:
        out = subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             timeout=10, check=True)
        return int(out.stdout.strip())
    except (OSError, ValueError, subprocess.SubprocessError):
        return int(time.time() // 86_400)


@dataclass(frozen=True)
class Plan:
    """The points to run per flow, and which slice of how many they are."""

    points: dict[str, list[int]]
    slice_no: int
    slices: int

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.points.values())


def plan(counts: dict[str, int], sample: int, key: int, everything: bool = False) -> Plan:
    """Every point when `everything`; otherwise slice `key mod slices` of all points taken in a fixed order,
    every `slices`-th point (so each slice spans every flow and every part of it)."""
    ordered = [(flow, n) for flow in sorted(counts) for n in range(1, counts[flow] + 1)]
    slices = 1 if everything or sample <= 0 else max(1, math.ceil(len(ordered) / sample))
    k = key % slices
    chosen: dict[str, list[int]] = {flow: [] for flow in counts}
    for flow, n in ordered[k::slices]:
        chosen[flow].append(n)
    return Plan(chosen, k, slices)


def sample_size(backend: str) -> int:
    if backend == "postgres":
        return int(os.environ.get("KIOSK_CRASH_PG_SAMPLE", DEFAULT_PG_SAMPLE))
    return int(os.environ.get("KIOSK_CRASH_SAMPLE", DEFAULT_SAMPLE))


@dataclass(frozen=True)
class RandomRun:
    flow: str
    point: int
    restart_kill: int  # 0: the restart is not killed


def random_plan(counts: dict[str, int], runs: int, seed: int) -> list[RandomRun]:
    rng = random.Random(seed)
    flows = sorted(counts)
    out = []
    for _ in range(runs):
        flow = rng.choice(flows)
        second = rng.randint(1, 400) if rng.random() < 0.25 else 0
        out.append(RandomRun(flow, rng.randint(1, counts[flow]), second))
    return out
