"""`kiosk sim scanner` in its own process: the supervisor's idle check notices it SIGKILLed under the open port
(unavailable, one readable line naming the port), reopens it when a scanner is back on the same by-id path, and
the next payment gets its code. Also `kiosk devices probe scanner` against it."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devices.scanner.driver import PaymentCodeScanner, Scan
from devices.scanner.registry import build_scanner
from kiosk.app_runtime.runtime import HEALTH
from kiosk.domain.payment_code import Network
from kiosk.flows.records import DeviceState
from kiosk.runtime import DeviceSupervisor, DeviceWorker, EventBus
from kiosk.runtime.events import DeviceHealth, DeviceHealthChanged
from tests.runtime.conftest import Recorder
from tests.support.unplug import ByIdLink, SimProcess

WECHAT = "154567890123456789"


@pytest.fixture
def sims() -> Iterator[list[SimProcess]]:
    started: list[SimProcess] = []
    yield started
    for sim in started:
        sim.kill()


def _health(rec: Recorder, timeout: float = 3.0) -> DeviceHealthChanged:
    event = rec.next(timeout)
    assert isinstance(event, DeviceHealthChanged)
    return event


def test_the_simulator_prints_its_pty_first_and_answers_commands(sims: list[SimProcess]) -> None:
    sims.append(SimProcess("scanner"))
    assert sims[-1].first_line.startswith("/dev/pts/")
    assert sims[-1].command("help").startswith("commands: scan CODE")
    assert sims[-1].command("frobnicate").startswith("unknown command")


def test_scanner_killed_while_idle_is_unavailable_then_reopened_on_the_same_path(
        tmp_path: Path, sims: list[SimProcess]) -> None:
    bus = EventBus()
    link = ByIdLink(tmp_path / "by-id" / "usb-Newland_scanner-if00")
    sims.append(SimProcess("scanner"))
    link.point_at(sims[-1].pty)
    health = Recorder(bus, DeviceHealthChanged)
    scanner = build_scanner("serial", str(link))
    sup: DeviceSupervisor[PaymentCodeScanner] = DeviceSupervisor(
        DeviceWorker("scanner", scanner), bus, backoff_cap=0.2, heartbeat=PaymentCodeScanner.idle_check,
        heartbeat_interval=0.1)
    sup.start()
    try:
        assert _health(health).health is DeviceHealth.AVAILABLE
        sims[-1].kill()
        link.remove()
        killed = time.monotonic()
        down = _health(health)
        assert down.health is DeviceHealth.UNAVAILABLE and time.monotonic() - killed < 2.0
        assert str(link) in down.reason
        assert HEALTH[sup.health] is DeviceState.DOWN

        sims.append(SimProcess("scanner"))
        link.point_at(sims[-1].pty)
        assert _health(health).health is DeviceHealth.AVAILABLE
        sup.submit(lambda s: s.arm()).result(2)
        assert sims[-1].command(f"scan {WECHAT}") == f"scanned {WECHAT}"
        result = sup.submit(lambda s: s.poll(2.0)).result(5)
        assert result == Scan(WECHAT, Network.WECHAT)
        assert sup.open_count == 2 and sup.failure_count == 1
    finally:
        sup.stop()


def test_scanner_killed_mid_read_fails_the_waiting_payment_s_poll_as_unavailable(
        tmp_path: Path, sims: list[SimProcess]) -> None:
    bus = EventBus()
    sims.append(SimProcess("scanner"))
    sup: DeviceSupervisor[PaymentCodeScanner] = DeviceSupervisor(
        DeviceWorker("scanner", build_scanner("serial", sims[-1].pty)), bus, backoff_cap=0.2)
    health = Recorder(bus, DeviceHealthChanged)
    sup.start()
    try:
        assert _health(health).health is DeviceHealth.AVAILABLE
        sup.submit(lambda s: s.arm()).result(2)
        waiting = sup.submit(lambda s: s.poll(5.0))
        time.sleep(0.2)  # the read is blocked in select() on the pty
        sims[-1].kill()
        from kiosk.errors import DeviceUnavailable

        with pytest.raises(DeviceUnavailable):
            waiting.result(3)
        assert _health(health).health is DeviceHealth.UNAVAILABLE
    finally:
        sup.stop()


def test_probe_reports_the_network_and_masks_the_code(sims: list[SimProcess], tmp_path: Path) -> None:
    sims.append(SimProcess("scanner", "--control-port", "0"))
    control = sims[-1].proc.stdout.readline().split()[1]  # type: ignore[union-attr]
    host, port = control.split(":")
    probe = subprocess.Popen([sys.executable, "-m", "kiosk", "--data-dir", str(tmp_path), "devices", "probe",
                              "scanner", "--kind", "serial", "--port", sims[-1].pty, "--baud", "9600", "--wait", "5"],
                             stdout=subprocess.PIPE, text=True, env={**os.environ, "KIOSK_LOG_LEVEL": "WARNING"})
    assert probe.stdout is not None
    assert "open; scan a payment code" in probe.stdout.readline()
    import socket

    with socket.create_connection((host, int(port)), timeout=2) as conn:
        conn.sendall(b"alipay\n")
        conn.recv(100)
    out, _ = probe.communicate(timeout=10)
    assert probe.returncode == 0, out
    # a fresh Alipay code starts 25-30 (the simulator picks one at random): shown with its first two and last two digits
    assert re.search(r"alipay payment code (2[5-9]|30)\*+\d\d$", out.strip()), out
