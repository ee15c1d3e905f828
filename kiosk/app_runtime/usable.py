"""When a started kiosk is usable: what a resident's first tap on a journey needs, waited for before the window is
told the services are ready (and so before systemd gets READY=1, screens/service_watchdog.py).

Usable = the runtime started (kiosk.app_runtime.wiring.start_runtime), every device's first open attempt over
(the reader, printer, cash acceptor and scanner open at the same time, each on its own worker), and the money
left from before a restart recovered (journaled notes, open QR orders and payment codes, unfinished intents:
`rt.recovered`). A device whose first attempt failed does not hold the kiosk back: its features are out of
service and its worker keeps trying (docs/deploy.md, the self-healing ladder). Recovery runs while the devices
open; the public-pages cache is refreshed after it, not waited for.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from kiosk.runtime.events import DeviceHealth

log = logging.getLogger(__name__)

DEVICE_FIRST_OPEN_S = 10.0  # a device still opening after this long is left to its worker
RECOVERY_S = 60.0  # recovery bounded by the database's own timeouts; past this the start goes on, logged
POLL_S = 0.005


@dataclass(frozen=True)
class Usable:
    seconds: float  # from the call to usable
    devices_down: tuple[str, ...]  # devices whose first open attempt failed or did not finish in time
    recovered: bool


def wait_usable(rt: Any, device_limit_s: float = DEVICE_FIRST_OPEN_S, recovery_limit_s: float = RECOVERY_S) -> Usable:
    """Block until `rt` (a started KioskRuntime) is usable; see the module's docstring."""
    began = time.monotonic()
    deadline = began + device_limit_s
    for supervisor in rt.supervisors.values():
        # an open wakes the wait at once; a failed first attempt leaves STARTING for UNAVAILABLE (seen within POLL_S)
        while supervisor.health is DeviceHealth.STARTING and time.monotonic() < deadline:
            supervisor.wait_available(POLL_S)
    down = tuple(name for name, supervisor in rt.supervisors.items() if not supervisor.available)
    recovered = rt.recovered.wait(max(0.0, began + recovery_limit_s - time.monotonic()))
    seconds = time.monotonic() - began
    if down:
        log.warning("usable without %s (not open yet; their workers keep trying)", ", ".join(down))
    if not recovered:
        log.error("start-up recovery not finished after %.0f s; the kiosk starts serving without it", seconds)
    log.info("usable %.3f s after the runtime started (devices open, money recovered)", seconds)
    return Usable(seconds, down, recovered)
