"""Bulk writes: many rows of one table in one executemany, straight to the database driver.

SQLAlchemy's executemany spends most of its time per row and per parameter (building and processing a dict
for each row); for an import of 100,000 bills that is most of the import. `insert_rows` runs each column's
own bind processor (dates as SQLite stores them, UTC datetimes) only where the column has one, once per
distinct value, and hands plain tuples to the driver: one executemany on SQLite, one COPY on PostgreSQL
(psycopg sends an executemany as a statement per row). The rows go into the session's current transaction
like any other statement.

`collector_paused` keeps Python's cycle collector from walking the heap again and again while an import builds
its hundreds of thousands of small tuples (none of which form cycles): a quarter of a 100,000-bill import."""
from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cycle collector off for the block (process-wide; reference counting still frees everything), and
    back on after it, as it was. For bulk work only: a few seconds, no cycles made."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def insert_rows(session: Session, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """INSERT every row (values in `columns` order) into `table`; returns how many."""
    connection = session.connection()
    dialect = connection.dialect
    processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns]
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    names = ", ".join(dialect.identifier_preparer.quote(name) for name in columns)
    sql = (f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({names}) "
           f"VALUES ({', '.join([marker] * len(columns))})")
    converted = [(i, p, {}) for i, p in enumerate(processors) if p is not None]
    out: list[tuple[Any, ...]] = []
    for row in rows:
        if converted:
            row = list(row)
            for i, process, seen in converted:  # imports repeat a few dates and one timestamp: convert each once
                value = row[i]
                if value is not None:
                    done = seen.get(value)
                    if done is None:
                        done = seen[value] = process(value)
                    row[i] = done
        out.append(tuple(row))
    if not out:
        return 0
    if dialect.name == "postgresql":  # COPY: one stream instead of a statement per row
        copy_sql = f"COPY {dialect.identifier_preparer.format_table(table)} ({names}) FROM STDIN"
        with connection.connection.dbapi_connection.cursor() as cursor:  # type: ignore[union-attr]
            with cursor.copy(copy_sql) as copy:
                for row in out:
                    copy.write_row(row)
        return len(out)
    connection.exec_driver_sql(sql, out)  # type: ignore[arg-type]
    return len(out)
