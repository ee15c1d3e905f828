"""The driver registry: names from the setting devices.reader.driver, no silent fallback."""
from __future__ import annotations

import pytest

from devices.card_reader.pn532_reader import Pn532CardReader
from devices.card_reader.registry import build_card_reader, driver_names
from devices.card_reader.uid_line_reader import UidLineCardReader
from kiosk.errors import DriverNotFound


def test_known_drivers_are_listed() -> None:
    assert driver_names() == ["pn532", "uid-line"]


def test_pn532_driver_builds_a_pn532_reader_without_opening_it() -> None:
    reader = build_card_reader("pn532", "/dev/does-not-exist", 115200)
    assert isinstance(reader, Pn532CardReader) and reader.transport.baud == 115200


def test_uid_line_driver_builds_an_identification_only_reader() -> None:
    reader = build_card_reader("uid-line", "loop://", 9600)
    assert isinstance(reader, UidLineCardReader) and not reader.can_write


def test_unknown_driver_names_the_setting() -> None:
    with pytest.raises(DriverNotFound) as info:
        build_card_reader("acr122", "/dev/ttyUSB0")
    assert "devices.reader.driver" in str(info.value) and "acr122" in str(info.value)
