"""The app's systemd watchdog against a real NOTIFY_SOCKET listener (AF_UNIX datagrams, as systemd reads them)."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.runtime.sd_notify import Notifier
from kiosk.runtime.service_watchdog import ServiceWatchdog, stuck_workers
from kiosk.runtime.worker import DeviceWorker


class Listener:
    """What systemd does with NOTIFY_SOCKET: a datagram socket, each message stamped on arrival."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.05)
        self.address = str(path)
        self.messages: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            self.messages.append((time.monotonic(), data.decode()))

    def times(self, line: str) -> list[float]:
        return [at for at, text in self.messages if line in text.split("\n")]

    def texts(self) -> list[str]:
        return [text for _, text in self.messages]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1)
        self.sock.close()


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[Listener]:
    found = Listener(tmp_path / "notify")
    yield found
    found.close()


class MainLoop:
    """A loop that calls the watchdog's tick at its interval, as Kivy's clock does; `stall` freezes it."""

    def __init__(self, dog: ServiceWatchdog, interval: float) -> None:
        self.dog, self.interval = dog, interval
        self.stall_for = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.stall_for:
                stall, self.stall_for = self.stall_for, 0.0
                time.sleep(stall)  # a frame that never ends: nothing else runs on this loop meanwhile
            self.dog.tick()
            time.sleep(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)


def test_ready_then_pings_at_half_the_watchdog_interval_then_stopping(listener: Listener) -> None:
    notifier = Notifier(listener.address, watchdog_usec=400_000)
    assert notifier.ping_interval_s == pytest.approx(0.2)
    ready = threading.Event()
    dog = ServiceWatchdog(notifier, ready.is_set, stuck=lambda: [])
    dog.start()
    loop = MainLoop(dog, notifier.ping_interval_s)
    time.sleep(0.5)
    assert listener.times("READY=1") == [] and listener.times("WATCHDOG=1") == []  # not usable yet: no READY
    assert listener.times("EXTEND_TIMEOUT_USEC=400000")  # but a live loop keeps the start from timing out
    ready.set()
    time.sleep(1.3)
    loop.stop()
    dog.stopping()
    time.sleep(0.1)
    assert len(listener.times("READY=1")) == 1
    assert "READY=1\nSTATUS=serving residents" in listener.texts()
    pings = listener.times("WATCHDOG=1")
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    assert len(pings) >= 4 and min(gaps) > 0.15 and sorted(gaps)[len(gaps) // 2] < 0.3, gaps  # at half of 0.4 s
    assert listener.texts()[-1] == "STOPPING=1\nSTATUS=stopping: clean exit"


def test_a_stalled_main_loop_sends_no_pings_while_it_stalls(listener: Listener) -> None:
    notifier = Notifier(listener.address, watchdog_usec=200_000)
    dog = ServiceWatchdog(notifier, lambda: True, stuck=lambda: [])
    loop = MainLoop(dog, notifier.ping_interval_s)
    time.sleep(0.5)
    loop.stall_for = 1.2  # longer than WatchdogSec (0.2 s): systemd would kill it
    time.sleep(2.0)
    loop.stop()
    pings = listener.times("WATCHDOG=1")
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    assert max(gaps) >= 1.1 and len(pings) >= 4, gaps


def test_a_device_worker_stuck_past_its_limit_stops_the_pings_and_says_so(listener: Listener) -> None:
    notifier = Notifier(listener.address, watchdog_usec=200_000)
    worker: DeviceWorker[object] = DeviceWorker("printer", object(), stuck_limit_s=0.4)
    worker.start()
    release = threading.Event()
    try:
        dog = ServiceWatchdog(notifier, lambda: True, stuck=lambda: stuck_workers([worker]))
        loop = MainLoop(dog, notifier.ping_interval_s)
        time.sleep(0.4)
        stuck_at = time.monotonic()
        worker.submit(lambda _device: release.wait(5))  # a driver call that never returns
        time.sleep(1.5)
        release.set()
        time.sleep(0.6)
        loop.stop()
    finally:
        release.set()
        worker.stop()
    pings = listener.times("WATCHDOG=1")
    silent = [at for at in pings if stuck_at + 0.5 < at < stuck_at + 1.5]
    assert silent == [] and any(at > stuck_at + 1.5 for at in pings)  # stopped while stuck, back once it returned
    stuck_status = [text for text in listener.texts() if "stuck" in text]
    assert stuck_status and stuck_status[0].startswith("STATUS=device worker stuck in one job (printer ")


def test_live_workers_are_the_started_ones_and_an_idle_worker_is_never_stuck() -> None:
    worker: DeviceWorker[object] = DeviceWorker("reader", object(), stuck_limit_s=0.0)
    worker.start()
    try:
        assert worker.stuck_for() == 0.0 and ("reader", 0.0) not in stuck_workers()
        assert worker.submit(lambda _d: 42).result(2) == 42
        assert worker.busy_for() == 0.0
    finally:
        worker.stop()


def test_without_notify_socket_nothing_is_sent_and_an_abstract_address_is_used_as_such(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert not Notifier().enabled and Notifier().ready("x") is False
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    name = f"kiosk-notify-test-{time.monotonic_ns()}"
    receiver.bind("\0" + name)
    receiver.settimeout(2)
    try:
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        monkeypatch.setenv("WATCHDOG_USEC", "30000000")
        notifier = Notifier()
        assert notifier.ping_interval_s == 15.0
        assert notifier.watchdog() and receiver.recv(100) == b"WATCHDOG=1"
    finally:
        receiver.close()
    assert notifier.watchdog() is False  # the listener is gone: logged once, never raised
