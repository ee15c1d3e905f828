"""The execution option of kiosk.persistence.with_commit, in a module of its own so that a statement can be marked
without importing psycopg: a SQLite kiosk never needs it (about 0.08 s of CPU on the path to usable)."""
from __future__ import annotations

WITH_COMMIT = "kiosk_with_commit"  # execution option: send this statement with the transaction's COMMIT
