"""Fixtures for driver tests: a PN532 simulator on a pty, cards, and the hypothesis profiles for fuzzing."""
from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from devices.card_reader.pn532_reader import Pn532CardReader
from devices.sim.mifare_card import VirtualMifareCard
from devices.sim.pn532_sim import SimPn532

# HYPOTHESIS_PROFILE=ci: 10,000 examples per property (the bar); long: 200,000 for soak runs.
settings.register_profile("default", max_examples=500, deadline=None)
settings.register_profile("ci", max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=200_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

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
