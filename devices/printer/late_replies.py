"""Status replies the driver stopped waiting for, which a serial or USB line still delivers later.

Every DLE EOT reply looks alike (bits 1 and 4 set, 0 and 7 clear), so a reply that arrives after its request
timed out would be read as the answer to the next request, and every answer after it would be one request off:
a late "all clear" read as the printer byte of a printer that is out of paper, its "offline" byte read as the
offline cause ("feed button"), its offline cause read as the error cause ("head temperature"), and so on. A
printer answers each request once and in order, so the driver keeps the requests it gave up on as owed: a new
status first waits for what is owed (and drops it), and asks nothing while a reply is still owed. A reply
owed longer than `expire_after` seconds is taken as lost (the printer was reset, or never answers), so a
printer that lost a request does not stay "not ready" for ever.
"""
from __future__ import annotations

import time
from collections import deque


class LateReplies:
    def __init__(self, expire_after: float) -> None:
        self.expire_after = expire_after
        self._owed: deque[tuple[int, float]] = deque()  # (DLE EOT n, when the driver gave up on it), oldest first

    @property
    def pending(self) -> int:
        return len(self._owed)

    def owe(self, n: int) -> None:
        """The reply to DLE EOT `n` did not come in time (or was garbled): it may still come."""
        self._owed.append((n, time.monotonic()))

    def settle(self, count: int) -> int:
        """`count` bytes arrived outside any request: they pay the oldest owed replies. Returns how many of
        them were not owed at all (stray bytes)."""
        while count and self._owed:
            self._owed.popleft()
            count -= 1
        return count

    def expire(self) -> None:
        """Forget replies owed for longer than `expire_after` seconds: they are not coming."""
        now = time.monotonic()
        while self._owed and now - self._owed[0][1] > self.expire_after:
            self._owed.popleft()

    def oldest(self) -> tuple[int, float]:
        """(n, seconds since it was given up) of the oldest owed reply; only while `pending`."""
        n, since = self._owed[0]
        return n, time.monotonic() - since

    def clear(self) -> None:
        """The line is gone (port vanished): nothing owed on it can arrive any more."""
        self._owed.clear()
