"""PN532 command responses: parsers and status bytes, with no port involved."""
from __future__ import annotations

import pytest

from devices.card_reader.pn532_commands import (
    check_status,
    parse_firmware_version,
    parse_passive_targets_a,
)
from kiosk.errors import CardAuthFailed, CardRemoved, ProtocolError


def test_firmware_version_names_the_chip() -> None:
    assert str(parse_firmware_version(bytes.fromhex("32010607"))) == "PN532 v1.6 (support 0x07)"


def test_firmware_version_of_wrong_length_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        parse_firmware_version(b"\x32\x01")


def test_passive_target_with_a_4_byte_uid() -> None:
    (t,) = parse_passive_targets_a(bytes.fromhex("0101000408" "04" "04A1B2C3"))
    assert (t.tg, t.atqa, t.sak, t.uid) == (1, 0x0004, 0x08, bytes.fromhex("04A1B2C3"))


def test_passive_target_with_a_7_byte_uid() -> None:
    (t,) = parse_passive_targets_a(bytes.fromhex("0101004408" "07" "04112233445566"))
    assert t.uid == bytes.fromhex("04112233445566") and t.atqa == 0x0044


def test_no_passive_target_is_an_empty_list() -> None:
    assert parse_passive_targets_a(b"\x00") == []


@pytest.mark.parametrize("data", ["01", "0101000408", "010100040805AABBCCDDEE", "0101000408" "07" "0411"])
def test_malformed_passive_target_is_a_protocol_error(data: str) -> None:
    with pytest.raises(ProtocolError):
        parse_passive_targets_a(bytes.fromhex(data))


def test_status_0x14_on_authentication_is_a_wrong_key() -> None:
    with pytest.raises(CardAuthFailed, match="wrong key"):
        check_status(0x14, "auth block 7", auth=True)


@pytest.mark.parametrize("status", [0x01, 0x27, 0x29, 0x2B])
def test_card_gone_statuses_raise_card_removed(status: int) -> None:
    with pytest.raises(CardRemoved):
        check_status(status, "read block 4")


def test_unknown_status_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        check_status(0x0B, "read block 4")
    check_status(0x00, "read block 4")
