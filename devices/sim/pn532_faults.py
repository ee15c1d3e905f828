"""One-shot fault injection for SimPn532: lost, corrupt and late frames, a card pulled mid-operation.

Faults fire in order of arrival, each once. The simulator consults them at the matching point of its
exchange (command received, ACK sent, response sent, card operation done).
"""
from __future__ import annotations

import threading


class FaultInjection:
    """Mixed into SimPn532; keeps the pending faults."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._faults: list[tuple[str, float]] = []

    def drop_next(self, kind: str = "response") -> None:
        """kind: 'command' (never reaches the chip), 'ack' or 'response' (lost on the way back)."""
        if kind not in ("command", "ack", "response"):
            raise ValueError(kind)
        self._faults.append((f"drop-{kind}", 0.0))

    def corrupt_next_response(self) -> None:
        self._faults.append(("corrupt-response", 0.0))

    def corrupt_next_command(self) -> None:
        """The next command frame arrives with a bit flipped: its checksum fails, so the chip ignores it."""
        self._faults.append(("corrupt-command", 0.0))

    def delay_next_response(self, seconds: float) -> None:
        self._faults.append(("delay-response", float(seconds)))

    def delay_next_ack(self, seconds: float) -> None:
        """The chip stalls before it ACKs the next command (a simulator thread on a loaded host does): the
        host's ACK window passes, it sends the command again and the chip then answers both copies. Call it
        twice to stall the ACKs of two commands in a row."""
        self._faults.append(("delay-ack", float(seconds)))

    def remove_card_after_auth(self, skip: int = 0) -> None:
        """The card leaves right after a successful authentication: the next one, or the one after `skip` more."""
        self._faults.append(("remove-after-auth", float(skip + 1)))

    def remove_card_after_ops(self, count: int) -> None:
        """The card leaves right after `count` more successful card operations (auth, read, write, value op,
        transfer): lets a test cut a multi-step write at every step."""
        if count < 1:
            raise ValueError("count must be at least 1")
        self._faults.append(("remove-after-ops", float(count)))

    def clear_faults(self) -> None:
        """Forget every fault that has not fired yet."""
        with self._lock:
            self._faults.clear()

    def _take_fault(self, name: str) -> float | None:
        with self._lock:
            for i, (f, arg) in enumerate(self._faults):
                if f == name:
                    del self._faults[i]
                    return arg
        return None
