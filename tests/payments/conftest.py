"""Shared helpers for payment-session tests: a ledger stand-in that records each stacked note once."""
from __future__ import annotations

from dataclasses import dataclass, field


from kiosk.ports import CashEvent


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
