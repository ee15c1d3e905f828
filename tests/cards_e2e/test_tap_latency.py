"""The reader's tap latency reaches the heartbeat: a card tapped on the wire-level PN532 simulator, seen by the card
watcher, read and verified by the CardStation; the watcher measures arrival to verified, the heartbeat carries it
and `kiosk fleet status` shows it for the reader (docs/office.md). On SQLite and PostgreSQL."""
from __future__ import annotations

import time

import pytest

from kiosk.errors import CardTampered
from kiosk.fleet import heartbeat, status
from kiosk.persistence.db import unit_of_work
from kiosk.runtime.card_watcher import CardWatcher
from kiosk.settings import FleetSettings


def _until(predicate, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())


def test_a_verified_tap_on_the_simulated_reader_puts_a_real_latency_in_the_heartbeat_and_status(desk) -> None:
    watcher = CardWatcher(desk.supervisor, desk.station.bus, poll_timeout=0.1)
    watcher.start()
    try:
        uid = desk.uid(0)
        assert watcher.last_tap_ms is None and watcher.tap_p95_ms is None
        desk.present(uid)
        assert _until(lambda: watcher.current is not None and watcher.current.uid.hex.lower() == uid.lower())
        started = time.monotonic()
        desk.station.check_tap(uid)  # reads the card over the wire, checks MAC, counter and value with the ledger
        spent_ms = (time.monotonic() - started) * 1000
        first = watcher.last_tap_ms
        assert first is not None and first > 0  # a MIFARE read with authentication is never instantaneous
        assert first >= int(spent_ms)  # arrival came before the check began
        desk.station.check_tap(uid)  # the same tap checked again is not a second latency
        assert list(watcher._taps) == [first]

        desk.sim.remove()
        assert _until(lambda: watcher.current is None)
        desk.present(uid)  # tapped again: a second measurement, and the p95 over both
        assert _until(lambda: watcher.current is not None)
        desk.station.check_tap(uid)
        assert len(watcher._taps) == 2 and watcher.tap_p95_ms == max(watcher._taps)

        with unit_of_work(desk.factory) as s:
            beat = heartbeat.Beat(desk.mini.till.kiosk_code, "test", "host", 1, heartbeat.State.IN_SERVICE,
                                  devices={"reader": {"state": "ok", "reason": "",
                                                      "last_tap_ms": watcher.last_tap_ms,
                                                      "tap_p95_ms": watcher.tap_p95_ms}})
            heartbeat.write(s, beat)
        with unit_of_work(desk.factory) as s:
            row = next(r for r in status.fleet(s, FleetSettings()) if r.kiosk_code == desk.mini.till.kiosk_code)
        assert row.devices["reader"]["last_tap_ms"] == watcher.last_tap_ms
        assert row.reader_tap == f"tap {watcher.last_tap_ms} ms, p95 {watcher.tap_p95_ms} ms"
    finally:
        watcher.stop()


def test_a_tampered_card_is_not_measured_as_a_tap(desk) -> None:
    watcher = CardWatcher(desk.supervisor, desk.station.bus, poll_timeout=0.1)
    watcher.start()
    try:
        uid = desk.uid(0)
        desk.cards[uid].blocks[8][7] ^= 0x01
        desk.present(uid)
        assert _until(lambda: watcher.current is not None)
        with pytest.raises(CardTampered):
            desk.station.check_tap(uid)
        assert watcher.last_tap_ms is None
    finally:
        watcher.stop()
