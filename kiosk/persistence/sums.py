"""Sums of money columns that cannot overflow when read.

SQLite's SUM() stops with "integer overflow" as soon as a partial sum leaves 64 bits, whatever the final
total. `split_sum` sums the column in two halves instead, the quotient and the remainder of a division by
2**32 (both databases truncate integer division and give the remainder the dividend's sign, so
value == high * 2**32 + low row by row): the quotients are below 2**31 and the remainders below 2**32 in
size, so neither partial sum can overflow before 2**31 rows, and `joined` puts the exact total back
together in Python."""
from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func

HALF = 2**32


def split_sum(column: Any) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """Two aggregate columns (high, low) whose `joined` value is SUM(column), never overflowing."""
    return (func.coalesce(func.sum(column // HALF), 0), func.coalesce(func.sum(column % HALF), 0))


def joined(high: Any, low: Any) -> int:
    """The exact total from the two halves (PostgreSQL answers its sums as NUMERIC)."""
    return int(high or 0) * HALF + int(low or 0)
