"""The virtual MIFARE card honours keys and access bits the way a real card does."""
from __future__ import annotations

import pytest

from devices.sim.mifare_card import CardRefused, VirtualMifareCard, decode_access, load_cards
from tests.devices.conftest import UID4

FF = b"\xff" * 6
KA, KB = bytes.fromhex("A0A1A2A3A4A5"), bytes.fromhex("B0B1B2B3B4B5")
# blocks 0,1: read AB write B; block 2: value (inc B, dec AB); trailer: keys written with B
# C1=0111 C2=1100 C3=1000 (blocks 0..3) -> ~C2|~C1=38, C1|~C3=77, C3|C2=8C, general purpose byte 69
OUR_ACCESS = bytes.fromhex("38778C69")


def _keyed_card() -> VirtualMifareCard:
    card = VirtualMifareCard(UID4)
    card.blocks[6][:] = bytes.fromhex("0A000000" "F5FFFFFF" "0A000000" "06F906F9")
    card.blocks[7][:] = KA + OUR_ACCESS + KB
    return card


def test_factory_access_bits_decode_to_transport_conditions() -> None:
    assert decode_access(bytes.fromhex("FF0780")) == [(0, 0, 0)] * 3 + [(0, 0, 1)]


def test_inconsistent_access_bits_are_refused() -> None:
    assert decode_access(bytes.fromhex("FF0781")) is None


def test_wrong_key_fails_authentication() -> None:
    card = _keyed_card()
    with pytest.raises(CardRefused):
        card.authenticate("A", 4, FF, UID4)


def test_reading_key_cannot_add_value() -> None:
    card = _keyed_card()
    card.authenticate("A", 6, KA, UID4)
    card.value_op("decrement", 6, 3)
    card.transfer(6)
    assert int.from_bytes(bytes(card.blocks[6][:4]), "little") == 7
    with pytest.raises(CardRefused):
        card.value_op("increment", 6, 100)
    card.authenticate("B", 6, KB, UID4)
    card.value_op("increment", 6, 100)
    card.transfer(6)
    assert int.from_bytes(bytes(card.blocks[6][:4]), "little") == 107


def test_reading_key_cannot_write_records_or_keys() -> None:
    card = _keyed_card()
    card.authenticate("A", 4, KA, UID4)
    assert card.read(4) == bytes(16)
    with pytest.raises(CardRefused):
        card.write(4, b"\x01" * 16)
    card.authenticate("A", 4, KA, UID4)
    with pytest.raises(CardRefused):
        card.write(7, FF + OUR_ACCESS + FF)


def test_trailer_read_hides_key_a_and_unreadable_key_b() -> None:
    card = _keyed_card()
    card.authenticate("B", 7, KB, UID4)
    assert card.read(7) == bytes(6) + OUR_ACCESS + bytes(6)


def test_operations_outside_the_authenticated_sector_are_refused() -> None:
    card = _keyed_card()
    card.authenticate("A", 4, KA, UID4)
    with pytest.raises(CardRefused):
        card.read(8)


def test_value_operation_on_a_non_value_block_is_refused() -> None:
    card = VirtualMifareCard(UID4)
    card.authenticate("A", 4, FF, UID4)
    with pytest.raises(CardRefused):
        card.value_op("increment", 5, 1)


def test_card_file_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    card = _keyed_card()
    path = tmp_path / "card.json"
    card.save(path)
    (again,) = load_cards(path)
    assert again.uid == card.uid and again.blocks == card.blocks
