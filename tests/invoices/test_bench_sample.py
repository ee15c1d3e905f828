"""A small run of bench/invoice.py in CI (the full run and its timing targets: docs/benchmarks.md)."""
from __future__ import annotations

import subprocess
import sys

from .conftest import ROOT


def test_the_invoice_benchmark_runs_and_sends_nothing_twice():
    out = subprocess.run([sys.executable, "bench/invoice.py", "--sample", "--payments", "4", "--queue", "30",
                          "--workers", "2", "--delay", "0.3"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "| orders sent twice (simulator's duplicates) | 0 |" in out.stdout
    assert "| invoices / orders | 34 / 34 |" in out.stdout
