"""Reports touch only their day: every statement of a day's settlement (and of the day's invoice reconciliation)
reads the day's rows through an index, never a table's whole history. Checked on each statement the report
really sends, with the database's own planner: EXPLAIN QUERY PLAN on SQLite (which keeps no statistics unless
analysed, as a kiosk's file is), EXPLAIN on PostgreSQL with sequential scans priced out, so that a plan that
still scans means no index can serve the statement."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event

from kiosk.domain import site_clock
from kiosk.domain.terms import PaymentMethod
from kiosk.invoices import reconcile
from kiosk.persistence.db import unit_of_work
from kiosk.services import payments, settlement, voids

# Tables that grow with every payment: a report may not read them whole. Sites, kiosks and chain heads have a
# row per kiosk and may be read whole.
HISTORY_TABLES = ("payments", "payment_items", "receipts", "journal_entries", "journal_lines", "chain_links",
                  "invoice_requests", "invoice_red_letters", "invoice_answers", "accounts", "bills")


@contextmanager
def statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def note(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def plan(engine: Engine, statement: str, params: Any) -> str:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return "\n".join(row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params))
        conn.exec_driver_sql("SET enable_seqscan = off")
        return "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, params))


def full_scans(text: str) -> list[str]:
    """The history tables the plan reads whole: SQLite's 'SCAN t' (with or without 'USING INDEX': an index read
    from end to end is still the whole history), PostgreSQL's 'Seq Scan on t'."""
    found = []
    for line in text.splitlines():
        words = line.replace("Seq Scan on", "SCAN").split()
        if "SCAN" in words:
            table = words[words.index("SCAN") + 1]
            if table in HISTORY_TABLES:
                found.append(line.strip())
    return found


def _a_day(factory, mini) -> None:  # type: ignore[no-untyped-def]
    """Payments by card, one voided: every part of the settlement has rows to read."""
    hh0, hh1 = mini.household_ids
    paid = payments.pay_bills(factory, mini.till, key="p1", household_id=hh0, bill_ids=mini.bill_ids[hh0][:1],
                              method=PaymentMethod.CARD, card_id=mini.card_ids[hh0], language="en")
    payments.pay_bills(factory, mini.till, key="p2", household_id=hh1, bill_ids=mini.bill_ids[hh1][:1],
                       method=PaymentMethod.CARD, card_id=mini.card_ids[hh1], language="en")
    with unit_of_work(factory) as s:
        voids.void_receipt(s, mini.till, number=paid.receipt_number, reason="twice", actor="staff:x", language="en")


def _plans_of(engine: Engine, factory, report: Callable[[Any], Any]) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with statements(engine) as seen, unit_of_work(factory) as s:
        report(s)
    assert seen, "the report sent no statement"
    return {statement: plan(engine, statement, params) for statement, params in seen}


def test_every_statement_of_a_days_settlement_reads_through_an_index(engine, factory, mini):
    _a_day(factory, mini)
    today = site_clock.site_today()
    plans = _plans_of(engine, factory, lambda s: settlement.daily_settlement(s, mini.till.site_id, today))
    scans = {statement.split("FROM")[1][:80]: full_scans(p) for statement, p in plans.items() if full_scans(p)}
    assert scans == {}
    payments_plan = next(p for st, p in plans.items() if "FROM payments" in st and "completed_at" in st)
    assert "ix_payments_kiosk_completed" in payments_plan, payments_plan


def test_the_days_invoice_reconciliation_reads_its_payments_through_the_day_index(engine, factory, mini):
    _a_day(factory, mini)
    today = site_clock.site_today()
    plans = _plans_of(engine, factory,
                      lambda s: reconcile.day_payments(s, mini.till.site_id, today, site_clock.DEFAULT_ZONE))
    [(statement, day_plan)] = [(st, p) for st, p in plans.items() if "completed_at" in st]
    assert full_scans(day_plan) == [] and "ix_payments_kiosk_completed" in day_plan, day_plan


def test_the_scan_finder_sees_a_scan_of_history(engine, factory, mini):
    """The check above can fail: a statement that must read all payments is reported."""
    _a_day(factory, mini)
    params = {} if engine.dialect.name == "postgresql" else ()
    assert full_scans(plan(engine, "SELECT sum(amount_fen) FROM payments WHERE method = 'card'", params)) != []
