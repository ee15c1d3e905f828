"""On the REAL kiosk (runtime, simulators, fresh SQLite) under Xvfb: a pause sent from the office with
`kiosk fleet action K01 pause --message ...` shows the out-of-service page with the office's message within a few
seconds of the kiosk's poll, and a resume brings the first page back (docs/office.md, "Remote actions")."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.harness import RealKioskProcess

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.xvfb

MESSAGE = "Lift maintenance: service paused until 15:00"


def _office(data_dir, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "kiosk", "fleet", "action", "K01", *args, "--data-dir",
                           str(data_dir)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_office_pauses_an_idle_kiosk_with_a_message_and_resumes_it(display, tmp_path):
    site = tmp_path / "site.toml"
    site.write_text("[fleet]\naction_poll_s = 1\n", encoding="utf-8")
    with RealKioskProcess(display, tmp_path / "data", language="en", env={"KIOSK_CONFIG": str(site)}) as real:
        real.wait_for_text("Hello, Heyue Garden", 30)
        _office(real.data_dir, "pause", "--message", MESSAGE, "--by", "office:Li")
        real.wait_for_route("out_of_service", 20)
        state = real.wait_for_text(MESSAGE, 10)
        assert "Out of service" in state["texts"]
        real.screenshot(tmp_path / "office-pause.png")
        _office(real.data_dir, "resume")
        real.wait_for_text("Hello, Heyue Garden", 20)
