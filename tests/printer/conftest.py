"""Printer test fixtures: hypothesis profiles (HYPOTHESIS_PROFILE=ci runs 10,000 examples) and a running simulator."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from devices.sim.escpos_sim import SimPrinter

settings.register_profile("ci", max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimPrinter]:
    """A simulated printer on an ephemeral TCP port and a pty, writing receipts under tmp_path."""
    printer = SimPrinter(tmp_path / "receipts", port=0, pty=True).start()
    try:
        yield printer
    finally:
        printer.stop()
