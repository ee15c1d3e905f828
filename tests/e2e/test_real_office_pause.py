"""On the REAL kiosk (runtime, simulators, fresh SQLite) under Xvfb, the one e2e check of the office's remote
actions: a pause sent with `kiosk fleet action K01 pause --message ...` shows the out-of-service page with the
office's message within a few seconds of the kiosk's poll, a resume brings the first page back, and a restart waits
for the resident at the kiosk to finish, then the app ends by itself for the service manager to start it again
(docs/office.md, "Remote actions")."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.harness import OPEN_ALL_DAY, RealKioskProcess, demo_card

pytestmark = pytest.mark.xvfb

ROOT = Path(__file__).resolve().parents[2]
MESSAGE = "Lift maintenance: service paused until 15:00"


def _office(data_dir, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "kiosk", "fleet", "action", "K01", *args, "--data-dir",
                           str(data_dir)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_office_pauses_resumes_and_restarts_the_kiosk_without_interrupting_a_resident(display, tmp_path):
    site = tmp_path / "site.toml"
    site.write_text("[fleet]\naction_poll_s = 1\n" + OPEN_ALL_DAY, encoding="utf-8")  # a resident signs in below
    with RealKioskProcess(display, tmp_path / "data", language="en", env={"KIOSK_CONFIG": str(site)}) as real:
        real.wait_for_text("Hello, Heyue Garden", 30)
        _office(real.data_dir, "pause", "--message", MESSAGE, "--by", "office:Li")
        real.wait_for_route("out_of_service", 20)
        state = real.wait_for_text(MESSAGE, 10)
        assert "Out of service" in state["texts"]
        real.screenshot(tmp_path / "office-pause.png")
        _office(real.data_dir, "resume")
        real.wait_for_text("Hello, Heyue Garden", 20)

        real.click("Cards")
        real.click(demo_card("1-0101 resident", "en"))
        real.wait_for_route("household", 20)
        _office(real.data_dir, "restart")
        with pytest.raises(subprocess.TimeoutExpired):
            real.proc.wait(4)  # picked up within a second, but a resident is using the kiosk
        assert real.state()["route"] == "household"
        real.click("Start over")
        assert real.proc.wait(20) == 0
        assert "restarting: office action" in real.log_text
