"""Idle policy: after `timeout_s` without a touch a warning offers `warning_s` to continue, then the session ends."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class IdlePhase(StrEnum):
    ACTIVE = "active"
    WARNING = "warning"
    EXPIRED = "expired"


@dataclass(frozen=True)
class IdlePolicy:
    """timeout_s counts from the last touch to the warning; the warning then lasts warning_s."""

    timeout_s: float = 60.0
    warning_s: float = 20.0
    staff_timeout_s: float = 120.0  # maintenance mode locks itself after 2 idle minutes

    def __post_init__(self) -> None:
        if self.warning_s < 20:
            raise ValueError("the idle warning must leave at least 20 s to continue")
        if self.timeout_s <= 0 or self.staff_timeout_s <= 0:
            raise ValueError("idle timeouts must be positive")

    def limit(self, staff: bool) -> float:
        return self.staff_timeout_s if staff else self.timeout_s


class IdleTracker:
    """Knows the last touch; answers which phase a moment is in and when the next change is due."""

    def __init__(self, policy: IdlePolicy, now: float) -> None:
        self.policy = policy
        self.last_touch = now
        self.staff = False

    def touch(self, now: float) -> None:
        self.last_touch = now

    def phase(self, now: float) -> IdlePhase:
        idle = now - self.last_touch
        limit = self.policy.limit(self.staff)
        if idle < limit:
            return IdlePhase.ACTIVE
        if idle < limit + self.policy.warning_s:
            return IdlePhase.WARNING
        return IdlePhase.EXPIRED

    def seconds_left(self, now: float) -> float:
        """Seconds until the session ends (meaningful in the warning phase)."""
        return max(0.0, self.last_touch + self.policy.limit(self.staff) + self.policy.warning_s - now)

    def next_change(self, now: float) -> float:
        """Delay until the phase can next change; the UI schedules one timer for it (no polling)."""
        limit = self.policy.limit(self.staff)
        warn_at = self.last_touch + limit
        if now < warn_at:
            return warn_at - now
        return max(0.0, warn_at + self.policy.warning_s - now)
