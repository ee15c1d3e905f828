"""DLE EOT status: decoding, the simulator's scripted states, and python-escpos's own status calls against it."""
from __future__ import annotations

import pytest
from escpos.printer import Network

from devices.printer.status import decode, is_status_byte
from devices.sim.escpos_sim import STATUS_REPLIES, SimState
from kiosk.ports import PaperState


def test_all_clear_is_ready():
    status = decode(0x12, 0x12, 0x12, 0x12)
    assert status.ready and status.paper is PaperState.OK and status.reason == ""


def test_near_end_bits_still_print():
    status = decode(0x12, 0x12, 0x12, 0x1E)
    assert status.ready and status.paper is PaperState.NEAR_END


def test_paper_end_bits_are_out():
    status = decode(0x1A, 0x32, 0x12, 0x72)
    assert not status.ready and status.paper is PaperState.OUT and "paper out" in status.reason


def test_cover_open_is_reported():
    status = decode(0x1A, 0x16, 0x12, 0x12)
    assert status.cover_open and not status.online and "cover open" in status.reason


def test_unrecoverable_error_is_offline():
    assert not decode(0x12, 0x12, 0x1A, 0x12).online


def test_an_offline_printer_names_its_cause():
    status = decode(*STATUS_REPLIES[SimState.OFFLINE])  # offline because of an auto-recoverable error
    assert not status.online and status.reason == "auto-recoverable error (head temperature)"


@pytest.mark.parametrize("replies", [
    (0x12, 0x52, 0x32, 0x12),  # the printer byte before it went offline, the causes after
    (0x12, 0x12, 0x32, 0x12),  # an auto-recoverable error (head temperature) with the printer byte still "online"
    (0x12, 0x16, 0x12, 0x12),  # cover opened after the printer byte
    (0x12, 0x32, 0x12, 0x12),  # stopped at paper end, before the paper sensor said so
    (0x12, 0x52, 0x12, 0x12),  # "error occurred" without a cause
])
def test_replies_that_disagree_are_not_ready(replies):
    """Four requests are four moments: a printer that changes between them must not read as ready."""
    status = decode(*replies)
    assert not status.ready and not status.online and status.reason


@pytest.mark.parametrize("value, ok", [(0x12, True), (0x1E, True), (0x72, True), (0x00, False), (0xFF, False),
                                       (0x13, False)])
def test_reply_bytes_carry_the_fixed_bits(value, ok):
    assert is_status_byte(value) is ok


@pytest.mark.parametrize("state, ready, paper", [
    (SimState.OK, True, PaperState.OK),
    (SimState.NEAR_END, True, PaperState.NEAR_END),
    (SimState.OUT, False, PaperState.OUT),
    (SimState.COVER_OPEN, False, PaperState.OK),
    (SimState.OFFLINE, False, PaperState.OK),
])
def test_simulator_replies_decode_to_the_scripted_state(state, ready, paper):
    status = decode(*STATUS_REPLIES[state])
    assert (status.ready, status.paper) == (ready, paper)


@pytest.mark.parametrize("state, online, paper", [
    (SimState.OK, True, 2), (SimState.NEAR_END, True, 1), (SimState.OUT, False, 0), (SimState.COVER_OPEN, False, 2),
])
def test_python_escpos_status_calls_accept_the_simulator(sim, state, online, paper):
    sim.set_state(state)
    client = Network(sim.host, sim.port, timeout=2)
    client.open()
    try:
        assert client.is_online() is online
        assert client.paper_status() == paper
    finally:
        client.close()
