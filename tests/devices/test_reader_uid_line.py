"""UidLineCardReader on a real pty: UIDs from hex lines, and every card operation refused with a reason."""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import pytest

from devices.card_reader.uid_line_reader import UidLineCardReader, parse_uid_line
from kiosk.errors import CardWriteUnsupported
from kiosk.ports import CardReader, KeyType


@pytest.fixture
def line_port() -> Iterator[tuple[int, str]]:
    master, slave = os.openpty()
    import tty
    tty.setraw(slave)
    yield master, os.ttyname(slave)
    os.close(master)
    os.close(slave)


@pytest.fixture
def line_reader(line_port: tuple[int, str]) -> Iterator[UidLineCardReader]:
    r = UidLineCardReader(line_port[1], hold_s=0.3)
    r.open()
    yield r
    r.close()


@pytest.mark.parametrize("line, hex_uid", [
    (b"04A1B2C3", "04A1B2C3"),
    (b"04:a1:b2:c3", "04A1B2C3"),
    (b" 04112233445566 ", "04112233445566"),
])
def test_uid_lines_parse(line: bytes, hex_uid: str) -> None:
    uid = parse_uid_line(line)
    assert uid is not None and uid.hex == hex_uid


@pytest.mark.parametrize("line", [b"", b"04A1B2", b"hello world", b"04A1B2C3D4", b"ZZZZZZZZ"])
def test_other_lines_are_ignored(line: bytes) -> None:
    assert parse_uid_line(line) is None


def test_poll_returns_the_tag_of_a_line(line_port: tuple[int, str], line_reader: UidLineCardReader) -> None:
    threading.Timer(0.05, os.write, args=(line_port[0], b"noise\r\n04A1B2C3\r\n")).start()
    tag = line_reader.poll(2.0)
    assert tag is not None and tag.uid.hex == "04A1B2C3"
    assert line_reader.poll(0.1) == tag  # still held
    time.sleep(0.35)
    assert line_reader.poll(0.1) is None  # no line for longer than hold_s: the card is gone


def test_a_repeated_uid_keeps_the_card_present(line_port: tuple[int, str], line_reader: UidLineCardReader) -> None:
    os.write(line_port[0], b"04A1B2C3\r\n")
    first = line_reader.poll(1.0)
    for _ in range(4):
        time.sleep(0.15)
        os.write(line_port[0], b"04A1B2C3\r\n")
        assert line_reader.poll(0.1) == first
    os.write(line_port[0], b"04112233445566\r\n")
    time.sleep(0.05)  # the pty hands bytes over asynchronously; a held poll does not wait
    swapped = line_reader.poll(0.1)
    assert swapped is not None and swapped.uid.hex == "04112233445566"


def test_a_line_split_across_reads_is_assembled(line_port: tuple[int, str], line_reader: UidLineCardReader) -> None:
    os.write(line_port[0], b"0411223")
    threading.Timer(0.05, os.write, args=(line_port[0], b"3445566\n")).start()
    tag = line_reader.poll(2.0)
    assert tag is not None and tag.uid.hex == "04112233445566"


def test_identification_only_reader_refuses_card_operations(line_reader: UidLineCardReader) -> None:
    assert isinstance(line_reader, CardReader)
    assert line_reader.can_write is False
    ops = [lambda: line_reader.authenticate(4, KeyType.A, b"\xff" * 6), lambda: line_reader.read_block(4),
           lambda: line_reader.write_block(4, bytes(16)), lambda: line_reader.increment(6, 1),
           lambda: line_reader.decrement(6, 1), lambda: line_reader.restore(6), lambda: line_reader.transfer(6)]
    for op in ops:
        with pytest.raises(CardWriteUnsupported):
            op()
