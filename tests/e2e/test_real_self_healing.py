"""The top of the self-healing ladder (docs/deploy.md), the real kiosk under Xvfb run by tests/support/unit_supervisor.py
as systemd runs estate-kiosk.service, with the values of the unit `kiosk install --root` writes: a hung main loop is
killed by the watchdog and the kiosk starts again by itself; a kiosk that fails at every start is given up after the
start limit and the last-resort unit's page is on the screen instead."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from kiosk.cli.main import main as kiosk_main
from tests.e2e.harness import OPEN_ALL_DAY, ROOT, Xvfb
from tests.support.unit_supervisor import UnitSupervisor, exec_start_after_cage, read_unit, seconds

pytestmark = pytest.mark.xvfb
SCALE = 0.1  # WatchdogSec 30 s -> 3 s, RestartSec 2 s -> 0.2 s, TimeoutAbortSec 20 s -> 2 s; start limit as shipped
SIZE = (1080, 1920)


def installed_units(tmp_path: Path) -> tuple[dict[str, str], dict[str, str]]:
    root = tmp_path / "root"
    assert kiosk_main(["install", "--root", str(root), "--python", sys.executable]) == 0
    units = root / "etc/systemd/system"
    return read_unit(units / "estate-kiosk.service"), read_unit(units / "estate-kiosk-last-resort.service")


def base_env(tmp_path: Path, display: str) -> dict[str, str]:
    return dict(os.environ, DISPLAY=display, KIVY_HOME=str(tmp_path / "kivy"), KIOSK_DATA_DIR=str(tmp_path / "data"),
                KIOSK_UI_WIDTH=str(SIZE[0]), KIOSK_UI_HEIGHT=str(SIZE[1]), KIOSK_UI_FULLSCREEN="0",
                KIOSK_UI_BORDERLESS="1")


def wait_for(predicate, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"no {what} within {timeout} s")


def test_a_hung_main_loop_is_killed_by_the_watchdog_and_the_kiosk_starts_again(tmp_path: Path) -> None:
    service, _ = installed_units(tmp_path)
    assert (seconds(service["WatchdogSec"]), seconds(service["RestartSec"])) == (30, 2)  # what ships
    site = tmp_path / "site.toml"
    site.write_text(OPEN_ALL_DAY, encoding="utf-8")
    freeze = tmp_path / "freeze-now"
    with Xvfb(SIZE, own=True) as screen:
        env = dict(base_env(tmp_path, screen.display), KIOSK_CONFIG=str(site), KIOSK_TEST_FREEZE_FILE=str(freeze))
        # the real app as `kiosk demo` assembles it (simulated devices), not the unit's `kiosk run` of a real box
        sup = UnitSupervisor(service, [sys.executable, "-m", "tests.e2e.real_app", "--data-dir", str(tmp_path / "data")],
                             env, lambda: None, tmp_path / "notify", scale=SCALE)
        runner = threading.Thread(target=sup.run, args=(180,), daemon=True)
        runner.start()
        try:
            wait_for(lambda: sup.said("READY=1"), 90, "READY=1 from the first start")
            wait_for(lambda: len(sup.said("WATCHDOG=1")) >= 2, 10, "pings")
            freeze.touch()  # the main loop sees it within 0.2 s and never returns from that frame
            wait_for(lambda: sup.said("watchdog timeout"), 15, "watchdog timeout")
            wait_for(lambda: len(sup.said("READY=1")) >= 2, 90, "READY=1 from the restarted kiosk")
            wait_for(lambda: len([t for t in sup.said("WATCHDOG=1") if t > sup.said("READY=1")[1]]) >= 3, 10,
                     "pings from the restarted kiosk")
        finally:
            sup.stop()
            runner.join(30)
    events = [what for _, what in sup.events]
    assert not freeze.exists()
    killed = sup.said("watchdog timeout")[0]
    last_ping = max(t for t in sup.said("WATCHDOG=1") if t < killed)
    assert sup.watchdog_s <= killed - last_ping < sup.watchdog_s + 1.0, events  # no ping for WatchdogSec, then killed
    first_exit = next(w for w in events if w.startswith("exited"))
    assert first_exit == f"exited {-signal.SIGABRT}", events  # WatchdogSignal: SIGABRT ended it, no SIGKILL needed
    assert [w.split()[0] for w in events if w.startswith(("started", "exited"))][:3] == ["started", "exited", "started"]
    assert not sup.failed and len(sup.starts) == 2


def test_a_kiosk_failing_at_every_start_ends_on_the_last_resort_page_not_in_a_loop(tmp_path: Path) -> None:
    service, last_resort = installed_units(tmp_path)
    burst, interval = int(service["StartLimitBurst"]), seconds(service["StartLimitIntervalSec"])
    assert (burst, interval, service["OnFailure"]) == (5, 600, "estate-kiosk-last-resort.service")
    broken = tmp_path / "site.toml"
    broken.write_text("[site\nkiosk_code = ")  # `kiosk run` stops at once with E1000, every time
    shown: list[str] = []
    page: list[subprocess.Popen[str]] = []
    with Xvfb(SIZE, own=True) as screen:
        env = dict(base_env(tmp_path, screen.display), KIOSK_CONFIG=str(broken))

        def on_failure() -> None:  # OnFailure=estate-kiosk-last-resort.service: its ExecStart, cage left out
            command = [*exec_start_after_cage(last_resort), "--size", f"{SIZE[0]}x{SIZE[1]}"]
            proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True)
            page.append(proc)
            for line in proc.stdout:  # type: ignore[union-attr]
                shown.append(line)
                if "LAST_RESORT_SHOWN" in line:
                    return

        command = exec_start_after_cage(service)  # the shipped `PYTHON -m kiosk run`
        assert command[1:] == ["-m", "kiosk", "run"], command
        sup = UnitSupervisor(service, command, env, on_failure, tmp_path / "notify", scale=SCALE)
        t0 = time.monotonic()
        try:
            sup.run(120)
            took = time.monotonic() - t0
            assert sup.failed, sup.events
            text = "".join(shown)
            assert "LAST_RESORT_SHOWN" in text, text
            assert re.search(r"reference K01-\d{6}-\d{4}", text), text
            time.sleep(0.5)
            shot = tmp_path / "last-resort-after-restarts.png"
            subprocess.run(["import", "-display", screen.display, "-window", "root", str(shot)], check=True,
                           timeout=30)
            colours = subprocess.run(["convert", str(shot), "-format", "%k", "info:"], capture_output=True,
                                     text=True, timeout=30).stdout
            assert int(colours) > 20, colours  # the page drawn, not an empty screen
            if os.environ.get("KIOSK_LADDER_SHOT"):
                Path(os.environ["KIOSK_LADDER_SHOT"]).write_bytes(shot.read_bytes())
        finally:
            for proc in page:
                proc.send_signal(signal.SIGTERM)
                proc.wait(15)
    events = [what for _, what in sup.events]
    starts = [w for w in events if w.startswith("started")]
    exits = [w for w in events if w.startswith("exited")]
    assert len(starts) == burst and exits == ["exited 2"] * burst, events  # five starts, each ended by E1000
    assert events[-1] == "start-limit-hit" and took < interval
    assert page[0].returncode == 0
