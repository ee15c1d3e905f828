"""PN532 fixtures shared by the driver and card-application tests: a simulator, an open reader, a card."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from devices.card_reader.pn532_reader import Pn532CardReader
from devices.sim.mifare_card import VirtualMifareCard
from devices.sim.pn532_sim import SimPn532

UID4 = bytes.fromhex("04A1B2C3")
UID7 = bytes.fromhex("04112233445566")


@pytest.fixture
def sim() -> Iterator[SimPn532]:
    with SimPn532() as s:
        yield s


@pytest.fixture
def reader(sim: SimPn532) -> Iterator[Pn532CardReader]:
    r = Pn532CardReader(sim.path)
    r.open()
    yield r
    r.close()


@pytest.fixture
def card() -> VirtualMifareCard:
    return VirtualMifareCard(UID4)
