"""A serial receipt printer unplugged while the spooler polls it: the simulator's pty master is closed under the open
port, the supervisor reports the printer unavailable (what the kiosk's device health shows), receipts wait in the
queue, and the printer is reopened and prints them once a new simulator is on the same by-id path."""
from __future__ import annotations

import time
from pathlib import Path

from devices.sim.escpos_sim import SimPrinter
from kiosk.app_runtime.runtime import HEALTH
from kiosk.flows.records import DeviceState
from kiosk.receipts.gate import GateDecision
from kiosk.runtime.events import DeviceHealth, DeviceHealthChanged
from tests.printing.conftest import eventually
from tests.support.unplug import ByIdLink


def test_serial_printer_unplugged_mid_poll_is_unavailable_then_reopened_and_prints_the_queue(make_rig, tmp_path: Path):
    link = ByIdLink(tmp_path / "by-id" / "usb-Printer_ESC_POS-if00-port0")
    first = SimPrinter(tmp_path / "first", port=0, pty=True).start()
    link.point_at(first.pty_path)
    second: SimPrinter | None = None
    try:
        # The spooler asks for DLE EOT status every 0.1 s: that is the poll the unplug lands in.
        rig = make_rig(printer=first, url=f"serial:{link}?baud=115200", interval=0.1)
        rig.steps_pass(2)
        assert HEALTH[rig.supervisor.health] is DeviceState.OK

        first.stop()  # the pty master closes under the driver's open port
        link.remove()
        pulled = time.monotonic()
        down = rig.events.wait(DeviceHealthChanged, timeout=3, health=DeviceHealth.UNAVAILABLE)
        assert time.monotonic() - pulled < 2.0
        assert str(link) in down.reason  # "connection lost ..." / "cannot connect: ...", one line
        assert HEALTH[rig.supervisor.health] is DeviceState.DOWN
        assert rig.spooler.gate().decision is GateDecision.CANNOT_PRINT

        out = rig.pay()  # the resident pays on; the receipt waits in the queue
        rig.spooler.kick()
        rig.steps_pass(3)
        assert rig.jobs() == [("queued", 0, "")]  # nothing sent, no attempt counted

        second = SimPrinter(tmp_path / "second", port=0, pty=True).start()
        link.point_at(second.pty_path)
        plugged = time.monotonic()
        rig.events.wait(DeviceHealthChanged, timeout=3, health=DeviceHealth.AVAILABLE)
        assert time.monotonic() - plugged < 2.0
        [record] = second.wait_for_records(1, timeout=5)
        assert any(out.receipt_number in line for line in record["lines"])
        assert eventually(lambda: rig.jobs() == [("printed", 1, "")])
        assert HEALTH[rig.supervisor.health] is DeviceState.OK
        assert rig.supervisor.failure_count == 1 and rig.supervisor.open_count == 2
    finally:
        first.stop()
        if second is not None:
            second.stop()
