"""python-escpos's capabilities database is pickled once per user, not into a new temp folder every start."""
from __future__ import annotations

import os
import subprocess
import sys

LOAD = ("import logging, sys; logging.basicConfig(level=logging.DEBUG, stream=sys.stdout); "
        "import devices.printer; from escpos.capabilities import CAPABILITIES")


def _start(cache_home: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "ESCPOS_CAPABILITIES_PICKLE_DIR"}
    env["XDG_CACHE_HOME"] = cache_home
    return subprocess.run([sys.executable, "-c", LOAD], env=env, capture_output=True, text=True, check=True).stdout


def test_second_start_loads_the_capabilities_from_the_kept_pickle(tmp_path):
    first = _start(str(tmp_path))
    assert "Loading and pickling capabilities" in first
    second = _start(str(tmp_path))
    assert f"Loading capabilities from pickle in {tmp_path / 'estate-kiosk' / 'escpos'}" in second
