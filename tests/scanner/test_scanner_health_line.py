"""A configured scanner ([devices.scanner] port) is built at start, supervised, and has its line in the device
health the staff page shows; a kiosk with none configured has no scanner line."""
from __future__ import annotations

import time
from pathlib import Path

from devices.scanner.driver import PaymentCodeScanner
from devices.sim.scanner_sim import SimScanner
from kiosk.app_runtime.devices import AttachedDevices, build_devices
from kiosk.app_runtime.runtime import KioskRuntime
from kiosk.flows.records import DeviceState
from tests.support.demo_site import seeded_site


def _scanner_line(rt: KioskRuntime) -> object:
    return next((h for h in rt.device_health() if h.device == "scanner"), None)


def test_a_configured_scanner_is_supervised_and_shown_in_the_device_health(
        engine, factory, db_url, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = SimScanner()
    sim.start()
    site = tmp_path / "site.toml"
    site.write_text(f'[devices]\nout_of_service_after_s = 0\n[devices.scanner]\nkind = "serial"\nport = "{sim.path}"\nbaud = 115200\n')
    settings, db, till, _ = seeded_site(engine, factory, db_url, tmp_path / "data", households=1)
    from kiosk import settings as settings_mod

    settings = settings_mod.load(tmp_path / "data", str(site), db_url=db_url)
    devices = build_devices(settings)
    assert isinstance(devices.scanner, PaymentCodeScanner)
    assert devices.scanner.source.url == sim.path
    rt = KioskRuntime(settings, db, till, devices)
    rt.start()
    try:
        assert rt.supervisors["scanner"].wait_available(3)
        line = _scanner_line(rt)
        assert line is not None and line.state is DeviceState.OK  # type: ignore[attr-defined]
        sim.stop()  # the cable pulled: the idle check notices without any payment polling
        deadline = time.monotonic() + 3
        while (line := _scanner_line(rt)).state is not DeviceState.DOWN:  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the scanner was never reported down"
            time.sleep(0.05)
        assert sim.path in line.detail  # type: ignore[union-attr]
    finally:
        for sup in rt.supervisors.values():
            sup.stop()


def test_no_scanner_configured_means_no_scanner_line(engine, factory, db_url, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings, db, till, _ = seeded_site(engine, factory, db_url, tmp_path / "data", households=1)
    assert build_devices(settings).scanner is None
    rt = KioskRuntime(settings, db, till, AttachedDevices(None, None, None, None))
    assert _scanner_line(rt) is None
    assert "scanner" not in rt.supervisors
