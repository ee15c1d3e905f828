"""Window-free tests of the input wake: it wakes the loop when its descriptor has data, once per frame."""
from __future__ import annotations

import os
from pathlib import Path
import threading
import time
from typing import Any

from screens.input_wake import InputWake, x11_connection_fd


class FakeLoop:
    """Stands in for Clock.schedule_once: records wake-ups and runs the 'frame' when told to."""

    def __init__(self) -> None:
        self.pending: list[Any] = []
        self.woken = threading.Event()

    def schedule_once(self, callback: Any, timeout: float = 0) -> None:
        self.pending.append(callback)
        self.woken.set()

    def run_frame(self) -> None:
        self.woken.clear()
        callbacks, self.pending = self.pending, []
        for callback in callbacks:
            callback(0.0)


def wait_for(predicate: Any, timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_data_on_the_connection_wakes_the_loop_once_until_a_frame_runs():
    read_fd, write_fd = os.pipe()
    loop = FakeLoop()
    wake = InputWake(read_fd, loop.schedule_once)
    wake._thread.start()
    try:
        assert not loop.woken.wait(0.2), "nothing to read: the loop must sleep"
        os.write(write_fd, b"e")  # an X event arrives
        assert loop.woken.wait(2.0)
        time.sleep(0.2)
        assert wake.wakes == 1, "still readable, but one wake-up per frame is enough"
        os.read(read_fd, 1)  # the frame reads the event...
        loop.run_frame()  # ...and the frame's callback lets the watcher look again
        time.sleep(0.2)
        assert wake.wakes == 1 and not loop.pending
        os.write(write_fd, b"f")
        assert wait_for(lambda: wake.wakes == 2)
    finally:
        wake.stop()
        os.close(write_fd)
    assert not wake._thread.is_alive()


def test_stop_ends_the_watcher_while_it_sleeps():
    read_fd, write_fd = os.pipe()
    wake = InputWake(read_fd, FakeLoop().schedule_once)
    wake._thread.start()
    wake.stop()
    assert not wake._thread.is_alive()
    os.close(read_fd), os.close(write_fd)


class NotX11Info:
    display = 1234


class Window:
    def __init__(self, info: Any) -> None:
        self.info = info

    def get_window_info(self) -> Any:
        if isinstance(self.info, Exception):
            raise self.info
        return self.info


def test_windows_that_are_not_on_x11_have_no_connection_to_watch():
    assert x11_connection_fd(Window(NotX11Info())) is None  # e.g. Wayland's info has a display too
    assert x11_connection_fd(Window(None)) is None
    assert x11_connection_fd(Window(AttributeError("mock window"))) is None
    assert InputWake.start(Window(None), FakeLoop().schedule_once) is None


CLOCK_PROBE = """
from threading import Event
from screens.boot import configure_kivy
from screens.ui_settings import UiSettings
configure_kivy(UiSettings())
from kivy.clock import Clock
Clock._max_fps = 2.0  # the idle frame rate
Clock.schedule_once(lambda _dt: None, 0.2)
ready, sleep_s = Clock._check_ready(2.0, Clock.get_resolution(), 0.8 * Clock.get_resolution(), Event())
print(ready, round(sleep_s, 2))
"""


def test_an_idle_clock_sleeps_until_just_before_its_next_event_instead_of_spinning(tmp_path):
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, KIVY_HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", CLOCK_PROBE], cwd=root, env=env, capture_output=True,
                         text=True, timeout=60, check=True).stdout.split()
    # unpinned, Kivy's resolution at 2 fps is 1/6 s and an event 0.2 s away would be waited for busily
    assert out[-2:] == ["False", "0.2"], out
