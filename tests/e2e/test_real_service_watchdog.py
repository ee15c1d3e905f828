"""The real kiosk under a NOTIFY_SOCKET, as systemd starts it (docs/deploy.md): READY=1 once the window is up and
the runtime started, WATCHDOG=1 from the Kivy main loop every half WATCHDOG_USEC, STOPPING=1 on SIGTERM."""
from __future__ import annotations

import time

import pytest

from tests.e2e.harness import RealKioskProcess
from tests.runtime.test_service_watchdog import Listener

pytestmark = pytest.mark.xvfb


def test_the_real_kiosk_tells_systemd_ready_pings_from_its_main_loop_and_says_stopping(display, tmp_path):
    listener = Listener(tmp_path / "notify")
    try:
        env = {"NOTIFY_SOCKET": listener.address, "WATCHDOG_USEC": "1000000"}
        with RealKioskProcess(display, tmp_path / "data", env=env) as real:
            deadline = time.monotonic() + 10
            while not listener.times("READY=1") and time.monotonic() < deadline:
                time.sleep(0.05)
            assert real.state().get("services_ready")
            time.sleep(2.6)
        time.sleep(0.3)
    finally:
        listener.close()
    texts = listener.texts()
    assert texts[0] == "STATUS=starting: window and devices"
    ready = listener.times("READY=1")
    assert len(ready) == 1, texts
    pings = [at for at in listener.times("WATCHDOG=1") if at > ready[0]]
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    assert len(pings) >= 4, texts
    assert len(pings) >= 4 and sorted(gaps)[len(gaps) // 2] < 0.75, gaps  # every 0.5 s: half of WatchdogSec
    assert texts[-1] == "STOPPING=1\nSTATUS=stopping: clean exit", texts[-3:]
