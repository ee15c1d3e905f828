"""Late frames on the PN532 line: answers to earlier commands must never cost a send or answer a later command.

On a loaded host the in-process simulator (a Python thread) can ACK later than the link's ACK window; the link
then sends the command again and the chip answers every copy it got. Under load in a full run this showed as
"no ACK for command ... after 3 sends" and as a read returning another block's data.
"""
from __future__ import annotations

import pytest

from devices.card_reader.pn532_frames import ACK, build_response
from devices.card_reader.pn532_link import Pn532Link
from devices.card_reader.pn532_reader import Pn532CardReader
from devices.sim.mifare_card import VirtualMifareCard
from devices.sim.pn532_ops import FIRMWARE
from devices.sim.pn532_sim import SimPn532
from kiosk.errors import DeviceTimeout
from kiosk.ports import KeyType

FF = b"\xff" * 6


class ScriptedLine:
    """A byte transport whose chip answers the n-th command frame with the n-th scripted bytes, all in one
    chunk; a read with nothing buffered is a deadline that passed."""

    device = "card reader"
    baud = 115200

    def __init__(self, *answers: bytes) -> None:
        self.answers = list(answers)
        self.commands: list[bytes] = []
        self.rx = bytearray()

    def write(self, data: bytes) -> None:
        if data not in (ACK,):
            self.commands.append(data)
            self.rx += self.answers.pop(0) if self.answers else b""

    def read_some(self, deadline: float) -> bytes:
        out, self.rx = bytes(self.rx), bytearray()
        return out

    def discard_input(self) -> None:
        pass  # what the chip sends after this call has not arrived yet


def test_a_late_answer_ahead_of_the_ack_is_skipped_not_taken_for_a_lost_command() -> None:
    # The answer to an earlier poll, the ACK and the response arrive in one chunk. The link used to send the
    # command again at the stray frame, throwing away the ACK behind it, and ended with "no ACK after 3 sends".
    stale_poll_answer = build_response(0x4A, bytes.fromhex("0101000408040A0B0C00"))
    line = ScriptedLine(stale_poll_answer + ACK + build_response(0x02, FIRMWARE))
    link = Pn532Link(line)
    link.asleep = False
    assert link.exchange(0x02) == FIRMWARE
    assert len(line.commands) == 1 and link.resends == 0


def test_without_an_ack_the_command_still_goes_three_times_and_then_fails() -> None:
    line = ScriptedLine(b"", b"", b"")
    link = Pn532Link(line)
    link.asleep = False
    with pytest.raises(DeviceTimeout, match="after 3 sends"):
        link.exchange(0x02)
    assert len(line.commands) == 3


@pytest.fixture
def loaded_reader(sim: SimPn532, reader: Pn532CardReader) -> Pn532CardReader:
    card = VirtualMifareCard(bytes.fromhex("04A1B2C3"))
    sim.present(card)
    assert reader.poll(1.0)
    reader.authenticate(4, KeyType.A, FF)
    reader.write_block(4, b"\x44" * 16)
    reader.write_block(5, b"\x55" * 16)
    return reader


def test_a_chip_slow_to_ack_answers_both_copies_and_the_next_read_still_gets_its_own_block(
        sim: SimPn532, loaded_reader: Pn532CardReader) -> None:
    # Two stalls longer than the ACK window: "read 4" goes twice, and the chip answers the second copy only
    # after the host has sent "read 5". Before the fix "read 5" took that late answer: block 4's data.
    sim.delay_next_ack(0.15)
    sim.delay_next_ack(0.15)
    assert loaded_reader.read_block(4) == b"\x44" * 16
    assert loaded_reader.read_block(5) == b"\x55" * 16
    assert loaded_reader.link.resends >= 1 and loaded_reader.link.duplicates_dropped >= 1


def test_after_a_stall_every_following_command_gets_its_own_answer(sim: SimPn532,
                                                                   loaded_reader: Pn532CardReader) -> None:
    sim.delay_next_ack(0.15)
    for _ in range(3):
        assert loaded_reader.read_block(4) == b"\x44" * 16
        assert loaded_reader.read_block(5) == b"\x55" * 16
    assert loaded_reader.firmware_version().startswith("PN532")
