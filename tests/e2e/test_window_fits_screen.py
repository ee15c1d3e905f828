"""`kiosk demo` opens at a size that fits the screen it finds: never larger, never cut off, the screen's shape."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.harness import ROOT, Xvfb

pytestmark = pytest.mark.xvfb


def window_geometry(display: str, timeout: float = 90) -> tuple[int, int]:
    """The kiosk window's size as the X server sees it (xwininfo; there is no window manager on Xvfb)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tree = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True,
                              env=dict(os.environ, DISPLAY=display)).stdout
        found = re.search(r'"Estate kiosk".*?\)\s+(\d+)x(\d+)\+', tree)
        if found and int(found.group(1)) > 1:
            return int(found.group(1)), int(found.group(2))
        time.sleep(0.5)
    raise AssertionError("the kiosk window did not appear")


@pytest.mark.parametrize("screen,portrait", [((1366, 768), False), ((1080, 1920), True), ((800, 600), False)])
def test_kiosk_demo_opens_at_the_reference_size_of_the_screens_orientation_shrunk_to_fit(tmp_path, screen, portrait):
    if shutil.which("xwininfo") is None or shutil.which("Xvfb") is None:
        pytest.skip("needs Xvfb and xwininfo (scripts/setup --test)")
    with Xvfb(screen, own=True) as x:
        env = dict(os.environ, DISPLAY=x.display, KIVY_HOME=str(tmp_path / "kivy"), KIOSK_CONFIG=str(tmp_path / "none.toml"))
        for key in [k for k in env if k.startswith("KIOSK_UI_")]:
            del env[key]
        (tmp_path / "none.toml").write_text("", encoding="utf-8")
        log = tmp_path / "demo.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli.main", "demo", "--data-dir", str(tmp_path / "data")],
                                    cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
            try:
                width, height = window_geometry(x.display)
                deadline = time.monotonic() + 120  # stopped once started: a first start seeds the demo estate
                while "services ready" not in log.read_text(errors="replace") and time.monotonic() < deadline:
                    time.sleep(0.5)
            finally:
                proc.terminate()
                proc.wait(60)
    assert width <= screen[0] and height <= screen[1], (width, height)
    assert (height > width) == portrait
    reference = (1080, 1920) if portrait else (1920, 1080)
    assert abs(width / height - reference[0] / reference[1]) < 0.01  # the reference shape, only smaller
    assert height >= screen[1] * 0.8 or width >= screen[0] * 0.95  # and as large as fits
