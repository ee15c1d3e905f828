"""The execution options of kiosk.persistence.with_commit, in a module of its own so that a statement can be marked
without importing psycopg: a SQLite kiosk never needs it (about 0.08 s of CPU on the path to usable)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

# execution option: nobody reads this statement's answer; send it in the same message as the transaction's next
# statement, or its COMMIT (kiosk.persistence.with_commit). RIDES is the same option under its general name.
WITH_COMMIT = RIDES = "kiosk_with_commit"
# execution option: (rows, error) -- a riding UPDATE or DELETE must touch exactly `rows` rows, else `error()` is
# raised when its answer comes back (the transaction is then rolled back whole, as on any error)
EXPECT_ROWS = "kiosk_expect_rows"


def riding(rows: int | None = None, error: Callable[[], Exception] | None = None) -> dict[str, Any]:
    """The execution options of a statement that rides with the next one (optionally with its expected rowcount):
    `session.execute(update(...), execution_options=riding(len(ids), lambda: BillAlreadyPaid(...)))`."""
    options: dict[str, Any] = {RIDES: True}
    if rows is not None:
        options[EXPECT_ROWS] = (rows, error)
    return options
