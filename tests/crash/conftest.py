"""The crash harness's rigs: one set-up estate per backend (module scope), each flow run once to enumerate its
kill points, and a summary of every run at the end of the session."""
from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.crash import flows, rig, selection
from tests.support.databases import pg_admin_url


@dataclass
class Rig:
    """A template and the kill points of every flow in it, as a dry run reached them (twice, the same)."""

    backend: str
    template: rig.Template
    root: Path
    labels: dict[str, list[str]] = field(default_factory=dict)
    clean: dict[str, rig.Verdict] = field(default_factory=dict)
    serial: itertools.count = field(default_factory=itertools.count)  # a directory of its own for every run

    @property
    def counts(self) -> dict[str, int]:
        return {flow: len(v) for flow, v in self.labels.items()}

    def run(self, flow: str, point: int, restart_kill: int = 0) -> rig.Verdict:
        expected = self.labels[flow][point - 1] if point else ""
        run_dir = self.root / f"{flow}-{point}-{restart_kill}-{next(self.serial)}"
        verdict = rig.crash_run(self.template, flow, point, run_dir,
                                expected=expected, restart_kill=restart_kill, retry=flow in flows.RETRIED_FLOWS)
        REPORT.add(self.backend, verdict)
        return verdict

    def run_many(self, flow: str, points: list[int]) -> list[rig.Verdict]:
        return self.run_each([(flow, point, 0) for point in points])

    def run_each(self, runs: list[tuple[str, int, int]]) -> list[rig.Verdict]:
        """Each (flow, point, restart kill) in a world of its own, KIOSK_CRASH_JOBS at a time (default 2: the CI
        machine's cores)."""
        jobs = max(1, int(os.environ.get("KIOSK_CRASH_JOBS", "2")))
        with ThreadPoolExecutor(jobs, thread_name_prefix="crash-run") as pool:
            return list(pool.map(lambda run: self.run(*run), runs))


@dataclass
class Report:
    runs: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)
    enumerated: dict[str, dict[str, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, backend: str, v: rig.Verdict) -> None:
        with self.lock:
            self.runs[backend] = self.runs.get(backend, 0) + 1
            self.seconds[backend] = self.seconds.get(backend, 0.0) + v.seconds
            self.findings += [f"{backend} {v.flow} #{v.point} ({v.label}): {f}" for f in v.findings]
            if v.drift:
                self.drift.append(f"{backend} {v.flow}: {v.drift}")


REPORT = Report()


def _build(backend: str, root: Path) -> Rig:
    template = rig.build_template(backend, root / "template")
    made = Rig(backend, template, root)
    for flow in flows.TESTED_FLOWS:
        made.labels[flow] = _agreed_dry_run(template, flow, root)
        made.clean[flow] = rig.crash_run(template, flow, 0, root / f"clean-{flow}")
    REPORT.enumerated[backend] = made.counts
    return made


def _agreed_dry_run(template: rig.Template, flow: str, root: Path, tries: int = 4) -> list[str]:
    """The flow's kill points: dry runs until two reach the same points in the same order. (On a machine so
    busy that the reader misses its answer window the driver sends again: that run differs, and is not used.)"""
    seen: list[list[str]] = []
    for n in range(tries):
        points = _dry_run(template, flow, root / f"dry-{flow}-{n}")
        if points in seen:
            if n > 1:
                REPORT.notes.append(f"{flow}: {n + 1} dry runs until two agreed")
            return points
        seen.append(points)
    raise AssertionError(f"{flow}: {tries} dry runs reached {tries} different lists of kill points")


def _dry_run(template: rig.Template, flow: str, run_dir: Path) -> list[str]:
    world = rig.World(template, run_dir)
    try:
        run = world.run(world.job("flow", flow=flow))
    finally:
        world.close()
    assert run.done is not None and "receipt" in run.done["outcome"], f"{flow} did not complete: {run}"
    return run.points


@pytest.fixture(scope="session")
def sqlite_rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    made = _build("sqlite", tmp_path_factory.mktemp("crash-sqlite"))
    yield made
    made.template.drop()


@pytest.fixture(scope="session")
def postgres_rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    if not pg_admin_url():
        if os.environ.get("KIOSK_REQUIRE_PG") == "1":
            pytest.fail("KIOSK_TEST_PG_URL is not set")
        pytest.skip("KIOSK_TEST_PG_URL not set (scripts/test starts a server)")
    made = _build("postgres", tmp_path_factory.mktemp("crash-postgres"))
    yield made
    made.template.drop()


@pytest.fixture(scope="session")
def rotation() -> int:
    return selection.rotation_key()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not REPORT.enumerated:
        return
    tr = terminalreporter
    tr.section("kill at every step")
    for backend, counts in REPORT.enumerated.items():
        tr.write_line(f"{backend}: {sum(counts.values())} kill points: "
                      + ", ".join(f"{flow} {n}" for flow, n in counts.items()))
    for backend, n in REPORT.runs.items():
        tr.write_line(f"{backend}: {n} crash runs, {REPORT.seconds[backend]:.0f} s of runs")
    for note in REPORT.notes:
        tr.write_line(note)
    if REPORT.drift:
        tr.write_line(f"kills that landed one point off the dry run's (a device answered late; still a kill, "
                      f"checked the same): {len(REPORT.drift)}")
        for line in REPORT.drift[:10]:
            tr.write_line(f"  {line}")
    tr.write_line(f"anomalies: {len(REPORT.findings)}")
    for finding in REPORT.findings[:50]:
        tr.write_line(f"  {finding}")
