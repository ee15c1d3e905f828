"""The reader's serial transport sleeps until a byte or its deadline, instead of waking every read slice."""
from __future__ import annotations

import os
import pty
import threading
import time

import pytest

from devices.card_reader.transport import SerialTransport
from kiosk.errors import DeviceUnavailable


class CountingReads:
    def __init__(self, port):  # type: ignore[no-untyped-def]
        self.port, self.reads = port, 0

    def __getattr__(self, name):  # type: ignore[no-untyped-def]
        return getattr(self.port, name)

    def read(self, n: int = 1) -> bytes:
        self.reads += 1
        return self.port.read(n)


@pytest.fixture
def line():  # type: ignore[no-untyped-def]
    master, slave = pty.openpty()
    transport = SerialTransport(os.ttyname(slave))
    transport.open()
    counting = CountingReads(transport._port)
    transport._port = counting
    fds = {"master": master}
    yield fds, transport, counting
    transport._port = counting.port
    transport.close()
    for fd in (fds["master"], slave):
        if fd is not None:
            os.close(fd)


def test_waiting_for_nothing_until_the_deadline_reads_nothing(line):
    _fds, transport, counting = line
    started = time.monotonic()
    assert transport.read_some(started + 0.4) == b""
    assert time.monotonic() - started >= 0.39
    assert counting.reads == 0  # slept in select(), not in eight 50 ms read slices


def test_bytes_arriving_while_waiting_are_returned_at_once(line):
    fds, transport, counting = line
    threading.Timer(0.1, lambda: os.write(fds["master"], b"\x00\x00\xff")).start()
    started = time.monotonic()
    data = transport.read_some(started + 2.0)
    while len(data) < 3:
        data += transport.read_some(started + 2.0)
    assert data == b"\x00\x00\xff"
    assert time.monotonic() - started < 1.0
    assert counting.reads <= 4


def test_a_vanished_device_is_reported_while_waiting(line):
    fds, transport, _counting = line

    def unplug() -> None:  # the other end of the line goes away: the pty hangs up
        master, fds["master"] = fds["master"], None
        os.close(master)
    threading.Timer(0.1, unplug).start()
    with pytest.raises(DeviceUnavailable):
        transport.read_some(time.monotonic() + 2.0)
