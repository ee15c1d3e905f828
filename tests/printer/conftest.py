"""Printer test fixtures: a running simulator."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devices.sim.escpos_sim import SimPrinter


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimPrinter]:
    """A simulated printer on an ephemeral TCP port and a pty, writing receipts under tmp_path."""
    printer = SimPrinter(tmp_path / "receipts", port=0, pty=True).start()
    try:
        yield printer
    finally:
        printer.stop()
