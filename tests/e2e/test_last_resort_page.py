"""`kiosk last-resort` (estate-kiosk-last-resort.service): the out-of-service page in three languages with the
reference staff are given, from a site file that does not even load; SIGTERM ends it cleanly."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.harness import ROOT, Xvfb

pytestmark = pytest.mark.xvfb


@pytest.mark.parametrize("size", [(1080, 1920), (1920, 1080)], ids=["portrait", "landscape"])
def test_the_last_resort_page_shows_the_reference_even_with_a_broken_site_file(tmp_path: Path, size) -> None:
    broken = tmp_path / "site.toml"
    broken.write_text("[site\nkiosk_code = ")
    with Xvfb(size, own=True) as screen:
        env = dict(os.environ, DISPLAY=screen.display, KIVY_HOME=str(tmp_path / "kivy"), KIOSK_CONFIG=str(broken))
        proc = subprocess.Popen([sys.executable, "-m", "kiosk", "last-resort", "--data-dir", str(tmp_path / "data"),
                                 "--size", f"{size[0]}x{size[1]}"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        try:
            lines = []
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                line = proc.stdout.readline()  # type: ignore[union-attr]
                lines.append(line)
                if "LAST_RESORT_SHOWN" in line or not line:
                    break
            text = "".join(lines)
            assert "the settings do not load" in text and "LAST_RESORT_SHOWN" in text, text
            reference = re.search(r"reference (K01-\d{6}-\d{4})", text)
            assert reference, text
            time.sleep(0.5)
            shot = tmp_path / "last-resort.png"  # docs/screenshots/last-resort/ holds the two taken this way
            subprocess.run(["import", "-display", screen.display, "-window", "root", str(shot)], check=True,
                           timeout=30)
            colours = subprocess.run(["convert", str(shot), "-format", "%k", "info:"], capture_output=True,
                                     text=True, timeout=30).stdout
            assert int(colours) > 20  # text drawn on the page, not an empty window
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
