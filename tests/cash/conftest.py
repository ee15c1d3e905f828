"""Fixtures for the ccTalk tests: a simulator on a pty and a driver opened on it; hypothesis profiles."""
from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from devices.cash.cctalk_bill_validator import CctalkBillValidator
from devices.sim.cctalk_sim import SimBillValidator

settings.register_profile("ci", max_examples=10_000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture
def sim() -> Iterator[SimBillValidator]:
    with SimBillValidator() as device:
        yield device


@pytest.fixture
def validator(sim: SimBillValidator) -> Iterator[CctalkBillValidator]:
    driver = CctalkBillValidator(sim.path, timeout_s=0.2, retries=1)
    driver.open()
    yield driver
    driver.close()
