"""Fixtures for the ccTalk tests: a simulator on a pty and a driver opened on it."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from devices.cash.cctalk_bill_validator import CctalkBillValidator
from devices.sim.cctalk_sim import SimBillValidator


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
