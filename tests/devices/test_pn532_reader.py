"""Pn532CardReader against the wire-level simulator: discovery, MIFARE operations and every line fault."""
from __future__ import annotations

import os
import time

import pytest

from devices.card_reader.pn532_reader import Pn532CardReader
from devices.sim.mifare_card import VirtualMifareCard
from devices.sim.pn532_sim import SimPn532
from kiosk.errors import CardAuthFailed, CardRemoved, DeviceTimeout, DeviceUnavailable
from kiosk.ports import CardReader, KeyType
from tests.devices.conftest import UID4, UID7

FF = b"\xff" * 6


def test_reader_implements_the_port(reader: Pn532CardReader) -> None:
    assert isinstance(reader, CardReader)
    assert reader.can_write


def test_open_reports_the_firmware(reader: Pn532CardReader) -> None:
    assert reader.firmware_version() == "PN532 v1.6 (support 0x07)"


def test_poll_with_an_empty_field_returns_none_after_its_timeout(reader: Pn532CardReader) -> None:
    t = time.monotonic()
    assert reader.poll(0.15) is None
    assert 0.15 <= time.monotonic() - t < 0.5


def test_poll_finds_a_4_byte_uid(sim: SimPn532, reader: Pn532CardReader, card: VirtualMifareCard) -> None:
    sim.present(card)
    tag = reader.poll(1.0)
    assert tag is not None and tag.uid.raw == UID4 and tag.sak == 0x08 and tag.atqa == 0x0004


def test_poll_finds_a_7_byte_uid_and_authenticates_with_its_last_four_bytes(sim: SimPn532,
                                                                           reader: Pn532CardReader) -> None:
    sim.present(VirtualMifareCard(UID7, atqa=0x0044))
    tag = reader.poll(1.0)
    assert tag is not None and tag.uid.hex == UID7.hex().upper()
    reader.authenticate(4, KeyType.A, FF)
    assert reader.read_block(4) == bytes(16)


def test_a_card_presented_during_a_poll_is_seen_without_waiting_for_the_timeout(
        sim: SimPn532, reader: Pn532CardReader, card: VirtualMifareCard) -> None:
    import threading
    threading.Timer(0.1, sim.present, args=(card,)).start()
    t = time.monotonic()
    tag = reader.poll(5.0)
    assert tag is not None
    assert time.monotonic() - t < 1.0  # seen when it arrived (0.1 s), not at the 5 s deadline


def test_read_write_and_value_operations(sim: SimPn532, reader: Pn532CardReader, card: VirtualMifareCard) -> None:
    sim.present(card)
    assert reader.poll(1.0)
    reader.authenticate(5, KeyType.A, FF)
    reader.write_block(5, bytes(range(16)))
    assert reader.read_block(5) == bytes(range(16))
    reader.write_block(6, bytes.fromhex("64000000" "9BFFFFFF" "64000000" "06F906F9"))
    reader.increment(6, 50)
    reader.transfer(6)
    reader.decrement(6, 30)
    reader.transfer(6)
    assert int.from_bytes(reader.read_block(6)[:4], "little") == 120
    reader.restore(6)
    reader.transfer(5)
    assert int.from_bytes(reader.read_block(5)[:4], "little") == 120


def test_wrong_key_fails_authentication(sim: SimPn532, reader: Pn532CardReader, card: VirtualMifareCard) -> None:
    sim.present(card)
    assert reader.poll(1.0)
    with pytest.raises(CardAuthFailed):
        reader.authenticate(4, KeyType.A, b"\x01" * 6)


def test_operation_without_a_card_raises_card_removed(reader: Pn532CardReader) -> None:
    with pytest.raises(CardRemoved):
        reader.read_block(4)


def test_card_removed_between_auth_and_write_raises_card_removed(sim: SimPn532, reader: Pn532CardReader,
                                                                 card: VirtualMifareCard) -> None:
    sim.present(card)
    assert reader.poll(1.0)
    sim.remove_card_after_auth()
    reader.authenticate(4, KeyType.A, FF)
    with pytest.raises(CardRemoved):
        reader.write_block(4, b"\x11" * 16)
    assert bytes(card.blocks[4]) == bytes(16)


def test_corrupt_response_is_nacked_and_the_chip_resends(sim: SimPn532, reader: Pn532CardReader,
                                                         card: VirtualMifareCard) -> None:
    sim.present(card)
    assert reader.poll(1.0)
    reader.authenticate(4, KeyType.A, FF)
    sim.corrupt_next_response()
    assert reader.read_block(7)[6:10] == bytes.fromhex("FF078069")
    assert reader.link.frames_rejected == 1


def test_lost_response_is_recovered_by_nack_without_running_the_command_twice(
        sim: SimPn532, reader: Pn532CardReader, card: VirtualMifareCard) -> None:
    sim.present(card)
    assert reader.poll(1.0)
    reader.authenticate(4, KeyType.A, FF)
    reader.write_block(6, bytes.fromhex("00000000" "FFFFFFFF" "00000000" "06F906F9"))
    sim.drop_next("response")
    reader.increment(6, 7)
    reader.transfer(6)
    assert int.from_bytes(bytes(card.blocks[6][:4]), "little") == 7


def test_lost_command_is_sent_again(sim: SimPn532, reader: Pn532CardReader) -> None:
    sim.drop_next("command")
    assert reader.firmware_version() and reader.cmd.get_firmware_version().ic == 0x32
    assert reader.link.resends == 1


def test_corrupt_command_is_ignored_by_the_chip_and_sent_again(sim: SimPn532, reader: Pn532CardReader) -> None:
    sim.corrupt_next_command()
    assert reader.cmd.get_firmware_version().ic == 0x32
    assert reader.link.resends == 1


def test_lost_ack_is_tolerated_when_the_response_arrives(sim: SimPn532, reader: Pn532CardReader) -> None:
    sim.drop_next("ack")
    assert reader.cmd.get_firmware_version().ic == 0x32
    assert reader.link.resends == 0


def test_response_later_than_the_timeout_raises_device_timeout(sim: SimPn532, reader: Pn532CardReader) -> None:
    sim.delay_next_response(1.2)
    t = time.monotonic()
    with pytest.raises(DeviceTimeout):
        reader.link.exchange(0x02, timeout=0.3)
    assert time.monotonic() - t < 2.5


def test_a_port_where_nothing_answers_fails_at_open_with_a_timeout() -> None:
    master, slave = os.openpty()
    try:
        r = Pn532CardReader(os.ttyname(slave))
        with pytest.raises(DeviceTimeout, match="no PN532 answered"):
            r.open()
        assert not r.transport.is_open
    finally:
        os.close(master)
        os.close(slave)


def test_loop_url_echoes_our_own_frames_and_is_not_mistaken_for_a_reader() -> None:
    r = Pn532CardReader("loop://")
    with pytest.raises(DeviceTimeout):
        r.open()


def test_missing_port_is_device_unavailable() -> None:
    with pytest.raises(DeviceUnavailable):
        Pn532CardReader("/dev/does-not-exist-kiosk").open()


def test_pulled_cable_turns_into_device_unavailable(sim: SimPn532, reader: Pn532CardReader) -> None:
    sim.unplug()
    with pytest.raises(DeviceUnavailable):
        reader.poll(0.2)


def test_port_is_opened_exclusively(sim: SimPn532, reader: Pn532CardReader) -> None:
    other = Pn532CardReader(sim.path)
    with pytest.raises(DeviceUnavailable):
        other.open()


def test_extended_frames_cross_the_wire_both_ways(reader: Pn532CardReader) -> None:
    # Diagnose 0x00 (communication line test) echoes its data: 300 bytes need extended frames each way.
    payload = bytes([0x00]) + bytes(range(256)) + bytes(43)
    assert reader.link.exchange(0x00, payload) == payload


# --- line speeds ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("baud", [9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600])
def test_every_line_speed_reads_a_card(sim: SimPn532, card: VirtualMifareCard, baud: int) -> None:
    sim.present(card)
    r = Pn532CardReader(sim.path, baud)
    r.open()
    try:
        assert sim.baud == baud and r.transport.baud == baud
        tag = r.poll(1.0)
        assert tag is not None and tag.uid.raw == UID4
        r.authenticate(4, KeyType.A, FF)
        assert r.read_block(4) == bytes(16)
    finally:
        r.close()


def test_a_chip_left_at_the_working_speed_is_found_there_at_once(sim: SimPn532) -> None:
    first = Pn532CardReader(sim.path, 460800)
    first.open()
    first.close()
    again = Pn532CardReader(sim.path, 460800)
    t = time.monotonic()
    again.open()
    assert time.monotonic() - t < 0.25  # no detour through 115200 (that alone costs 0.3 s of ACK timeouts)
    again.close()


def test_a_chip_left_at_another_speed_is_found_and_switched(sim: SimPn532) -> None:
    other = Pn532CardReader(sim.path, 921600)
    other.open()
    other.close()
    r = Pn532CardReader(sim.path, 115200)
    r.open()
    assert sim.baud == 115200 and r.firmware_version().startswith("PN532")
    r.close()


def test_wrong_speed_bytes_never_reach_the_chip(sim: SimPn532) -> None:
    sim.baud = 921600  # as if switched earlier; the host below only tries 115200 first
    r = Pn532CardReader(sim.path, 115200)
    r.open()
    assert sim.garbled_chunks >= 1  # the first attempt at 115200 was noise to the chip
    assert sim.baud == 115200
    r.close()


def test_power_cycle_by_replug_brings_the_chip_back_to_115200(sim: SimPn532) -> None:
    r = Pn532CardReader(sim.path, 921600)
    r.open()
    r.close()
    sim.unplug()
    sim.replug()
    assert sim.baud == 115200
    r.open()
    assert sim.baud == 921600
    r.close()


def test_an_impossible_speed_is_refused_before_touching_the_port() -> None:
    with pytest.raises(ValueError, match="cannot run at 12345"):
        Pn532CardReader("/dev/does-not-exist", 12345).open()


# --- how poll waits -------------------------------------------------------------------------------------
def test_waiting_for_a_card_is_one_command_cancelled_by_an_ack(sim: SimPn532, reader: Pn532CardReader,
                                                                card: VirtualMifareCard) -> None:
    sim.reset_stats()
    assert reader.poll(0.3) is None
    assert sim.stats.commands == 1  # the line stays quiet while the field is empty
    sim.present(card)
    tag = reader.poll(0.3)  # the cancelled command left nothing behind that could confuse this one
    assert tag is not None and tag.uid.raw == UID4


def test_finite_retries_poll_in_slices(sim: SimPn532, card: VirtualMifareCard) -> None:
    r = Pn532CardReader(sim.path, poll_retries=0x10)
    r.open()
    try:
        sim.reset_stats()
        assert r.poll(0.2) is None
        assert sim.stats.commands > 1
        sim.present(card)
        tag = r.poll(0.5)
        assert tag is not None and tag.uid.raw == UID4
    finally:
        r.close()


def test_a_long_frame_at_9600_baud_is_not_resent_while_it_is_still_on_the_wire(sim: SimPn532) -> None:
    r = Pn532CardReader(sim.path, 9600)
    r.open()
    try:
        payload = bytes([0x00]) + bytes(range(250))  # ~260 bytes: 270 ms on the wire before the ACK
        r.link.resends = 0  # open() looked for the chip at 9600 first (it starts at 115200)
        assert r.link.exchange(0x00, payload, timeout=2.0) == payload
        assert r.link.resends == 0
    finally:
        r.close()
