"""Shared helpers for payment-session tests: a ledger stand-in that records each stacked note once."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from hypothesis import HealthCheck, settings

from kiosk.ports import CashEvent

settings.register_profile("ci", max_examples=10_000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@dataclass
class CounterLedger:
    """What the lead's service does in one transaction per STACKED event: entry + last counter."""

    entries: list[int] = field(default_factory=list)
    last_counter: int = 0
    fail_next: bool = False

    def record(self, event: CashEvent) -> None:
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("database is locked")
        self.entries.append(event.value_fen)
        self.last_counter = event.counter

    @property
    def total(self) -> int:
        return sum(self.entries)
