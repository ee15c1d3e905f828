"""Database benchmark: pay-bills commit latency, outstanding-bills lookup and one day's settlement, SQLite and
PostgreSQL.

Run: .venv/bin/python bench/db.py [--pg-url URL] [--payments N] [--households N] [--bills-per N]
                                  [--history N] [--day-payments N] [--only commit,lookup,settlement]
Without --pg-url a throw-away PostgreSQL server is started (fsync on). Prints one table; each figure
sits beside a baseline measured in the same run on the same database, and the ratio.
  - commit baseline: a one-row INSERT committed alone (the durability floor of the database);
  - lookup baseline: fetching one household row by primary key;
  - settlement baseline: the same day's settlement (the same payments, made the same way) on a fresh database;
    the measured figure is on a database with a year of history (--history payments) behind the day.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, func, select, text  # noqa: E402

from kiosk.demo import estate  # noqa: E402
from kiosk.domain.terms import BillStatus, CardKind, PaymentMethod  # noqa: E402
from kiosk.persistence import schema  # noqa: E402
from kiosk.persistence.chain import ChainBinding  # noqa: E402
from kiosk.persistence.db import make_engine, make_session_factory, unit_of_work  # noqa: E402
from kiosk.domain import site_clock  # noqa: E402
from kiosk.persistence.bulk import collector_paused, insert_rows  # noqa: E402
from kiosk.persistence.models import (Bill, Building, Card, ChainHead, ChainLink, DeviceEvent, Household,  # noqa: E402
                                      JournalEntry, JournalLine, Kiosk, Payment, PaymentItem, Receipt,
                                      ReceiptCounter, Site)
from kiosk.services import households, payments, settlement  # noqa: E402
from kiosk.services.receipts import Till  # noqa: E402

BENCH_CHAIN = ChainBinding(bytes.fromhex("b3" * 32), "K01")  # a throw-away audit key: the chain is written as at a kiosk


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def fresh_pg_database(admin_url: str, name: str) -> str:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    from sqlalchemy.engine import make_url

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def make_till(factory) -> Till:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as s:
        site = Site(code="BENCH", name_zh_hans="基准", name_zh_hant="基準", name_en="Bench")
        s.add(site)
        s.flush()
        kiosk = Kiosk(site_id=site.id, code="KB", name="bench")
        s.add(kiosk)
        s.flush()
        return Till(site.id, kiosk.id, "KB", {"zh_Hans": "基准", "zh_Hant": "基準", "en": "Bench"})


def bench_commits(url: str, n: int) -> tuple[list[float], list[float]]:
    engine = make_engine(url)
    schema.upgrade(engine)
    factory = make_session_factory(engine, chain=BENCH_CHAIN)
    till = make_till(factory)
    with unit_of_work(factory) as s:
        estate.seed(s, till, households=40)
    with unit_of_work(factory) as s:
        open_bills = s.execute(select(Bill.id, Bill.household_id).where(Bill.status == str(BillStatus.OPEN))
                               .order_by(Bill.id)).all()
        cards = {c.household_id: c.id for c in s.scalars(select(Card).where(Card.kind == str(CardKind.RESIDENT)))}
        # Enough stored value on every card for the whole run.
        from kiosk.domain.terms import AccountKind, EntryKind
        from kiosk.services import ledger

        box = ledger.account(s, AccountKind.OPENING)
        for card_id in cards.values():
            ledger.transfer(s, EntryKind.TOP_UP, box, ledger.account(s, AccountKind.STORED_VALUE, card_id=card_id),
                            10_000_000)
    pay_times: list[float] = []
    base_times: list[float] = []
    for i, (bill_id, hh) in enumerate(open_bills[:n]):
        t0 = time.perf_counter()
        payments.pay_bills(factory, till, key=f"bench-{i}", household_id=hh, bill_ids=[bill_id],
                           method=PaymentMethod.CARD, card_id=cards[hh], language="zh_Hans")
        pay_times.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        with unit_of_work(factory) as s:
            s.add(DeviceEvent(device="bench", kind="tick"))
        base_times.append((time.perf_counter() - t0) * 1000)
    engine.dispose()
    return pay_times, base_times


def load_big_estate(url: str, households_n: int, bills_per: int) -> None:
    engine = make_engine(url)
    schema.upgrade(engine)
    factory = make_session_factory(engine, chain=BENCH_CHAIN)
    till = make_till(factory)
    with unit_of_work(factory) as s:
        b = Building(site_id=till.site_id, code="B", name="B")
        s.add(b)
        s.flush()
        building_id = b.id
    rng = random.Random(7)
    kinds = ["management", "water", "electricity", "gas", "rent", "parking", "permit", "service"]
    with engine.begin() as conn:
        conn.execute(Household.__table__.insert(), [
            {"site_id": till.site_id, "building_id": building_id, "unit_no": f"B-{i:06d}", "holder_name": "x",
             "phone": "", "pin_hash": "", "pin_failed": 0} for i in range(households_n)])
        first = conn.execute(select(Household.id).order_by(Household.id).limit(1)).scalar_one()
    batch: list[dict] = []
    for h in range(households_n):
        for j in range(bills_per):
            status = "open" if j >= bills_per - 6 else "paid"  # ~6 open bills a household, the rest history
            year, month = 2018 + j // 12, j % 12 + 1
            batch.append({"household_id": first + h, "kind": kinds[j % 8], "period": f"{year}-{month:02d}",
                          "amount_fen": rng.randrange(1_000, 400_000), "due_date": date(year, month, 28),
                          "status": status, "external_ref": f"R{h}-{j}"})
        if len(batch) >= 50_000:
            with engine.begin() as conn:
                conn.execute(Bill.__table__.insert(), batch)
            batch.clear()
    if batch:
        with engine.begin() as conn:
            conn.execute(Bill.__table__.insert(), batch)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def bench_lookup(url: str, households_n: int, samples: int) -> tuple[list[float], list[float]]:
    engine = make_engine(url)
    factory = make_session_factory(engine, chain=BENCH_CHAIN)
    with unit_of_work(factory) as s:
        ids = list(s.scalars(select(Household.id)))
    rng = random.Random(11)
    look: list[float] = []
    base: list[float] = []
    for _ in range(samples):
        hh = rng.choice(ids)
        t0 = time.perf_counter()
        with factory() as s:
            bills = households.outstanding_bills(s, hh)
        look.append((time.perf_counter() - t0) * 1000)
        assert len(bills) == 6, len(bills)
        t0 = time.perf_counter()
        with factory() as s:
            s.get(Household, rng.choice(ids))
        base.append((time.perf_counter() - t0) * 1000)
    engine.dispose()
    return look, base


def write_history(factory, till: Till, n: int, before: datetime) -> None:  # type: ignore[no-untyped-def]
    """A year of settled payments before `before`, written in bulk as bench/imports.py writes bills: one payment
    every 365 days / n, each with its item, its receipt (the site's next number), its balanced journal entry (cash
    into the box of a second kiosk, revenue out; one in ten keeps change as account credit) and two chain links."""
    from kiosk.domain.terms import AccountKind, EntryKind, PaymentPurpose

    from kiosk.services import ledger

    step = timedelta(days=365) / n
    with unit_of_work(factory) as s, collector_paused():
        other = Kiosk(site_id=till.site_id, code="KH", name="history")
        s.add(other)
        s.flush()
        hhs = list(s.scalars(select(Household.id).where(Household.site_id == till.site_id).order_by(Household.id)))
        box = ledger.account(s, AccountKind.CASH_BOX, kiosk_id=other.id).id
        revenue = ledger.account(s, AccountKind.REVENUE, fee_kind="management").id
        credit = {hh: ledger.account(s, AccountKind.CREDIT, household_id=hh).id for hh in hhs}
        counter = s.get(ReceiptCounter, till.site_id)
        first_number = counter.next_number if counter is not None else 1
        pay_id = (s.scalar(select(func.max(Payment.id))) or 0) + 1
        entry_id = (s.scalar(select(func.max(JournalEntry.id))) or 0) + 1
        receipt_id = (s.scalar(select(func.max(Receipt.id))) or 0) + 1
        pays, items, recs, entries, lines, links = [], [], [], [], [], []
        for i in range(n):
            at = before - step * (n - i)
            hh = hhs[i % len(hhs)]
            fen = 10_000 + (i * 7919) % 300_000
            kept = 50 * (i % 7 + 1) if i % 10 == 0 else 0
            pid, eid, rid = pay_id + i, entry_id + i, receipt_id + i
            pays.append((pid, f"hist-{i}", "0" * 64, f"H{i:011d}", other.id, hh, None, str(PaymentPurpose.BILLS), "cash",
                         fen, fen + kept, 0, "succeeded", "", "{}", at, at))
            items.append((pid, None, "management", "management", fen))
            recs.append((rid, till.site_id, first_number + i, "payment", other.id, pid, hh, at, "zh_Hans", "{}", 0, False,
                         ""))
            entries.append((eid, at, str(EntryKind.BILL_PAYMENT), "", pid, other.id))
            lines.append((eid, box, fen + kept))
            lines.append((eid, revenue, -fen))
            if kept:
                lines.append((eid, credit[hh], -kept))
            links.append(("KH", 2 * i + 1, "journal_entry", eid, 1, "0" * 64, "0" * 64, at))
            links.append(("KH", 2 * i + 2, "receipt", rid, 1, "0" * 64, "0" * 64, at))
        insert_rows(s, Payment.__table__, ("id", "idempotency_key", "request_hash", "reference", "kiosk_id",
                                           "household_id", "card_id", "purpose", "method", "amount_fen",
                                           "received_fen", "credit_fen", "status", "failure_code", "details",
                                           "created_at", "completed_at"), pays)
        insert_rows(s, PaymentItem.__table__, ("payment_id", "bill_id", "fee_kind", "label", "amount_fen"), items)
        insert_rows(s, Receipt.__table__, ("id", "site_id", "number", "kind", "kiosk_id", "payment_id", "household_id",
                                           "issued_at", "language", "content", "reprint_count", "voided",
                                           "void_reason"), recs)
        insert_rows(s, JournalEntry.__table__, ("id", "created_at", "kind", "memo", "payment_id", "kiosk_id"), entries)
        insert_rows(s, JournalLine.__table__, ("entry_id", "account_id", "amount_fen"), lines)
        insert_rows(s, ChainLink.__table__, ("chain", "seq", "kind", "row_id", "version", "digest", "mac", "at"), links)
        s.add(ChainHead(chain="KH", seq=2 * n, last_mac="0" * 64, key_id="bench", started_at=before - step * n,
                        updated_at=before))
        if counter is None:
            s.add(ReceiptCounter(site_id=till.site_id, next_number=first_number + n))
        else:
            counter.next_number = first_number + n
        if s.get_bind().dialect.name == "postgresql":  # ids were given: move the sequences past them
            for table in ("payments", "payment_items", "receipts", "journal_entries", "journal_lines", "chain_links"):
                s.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))


def prepare_settlement_day(url: str, history: int, day_payments: int):  # type: ignore[no-untyped-def]
    """A database with today's `day_payments` paid the kiosk's way (by card) after `history` payments of the past
    year; returns (engine, session factory, site id)."""
    engine = make_engine(url)
    schema.upgrade(engine)
    factory = make_session_factory(engine, chain=BENCH_CHAIN)
    till = make_till(factory)
    with unit_of_work(factory) as s:
        estate.seed(s, till, households=80)
    start_of_today, _ = site_clock.day_bounds(site_clock.site_today())
    if history:
        write_history(factory, till, history, start_of_today)
    with unit_of_work(factory) as s:
        open_bills = s.execute(select(Bill.id, Bill.household_id).where(Bill.status == str(BillStatus.OPEN))
                               .order_by(Bill.id)).all()
        cards = {c.household_id: c.id for c in s.scalars(select(Card).where(Card.kind == str(CardKind.RESIDENT)))}
        from kiosk.domain.terms import AccountKind, EntryKind
        from kiosk.services import ledger

        opening = ledger.account(s, AccountKind.OPENING)
        for card_id in cards.values():
            ledger.transfer(s, EntryKind.TOP_UP, opening, ledger.account(s, AccountKind.STORED_VALUE, card_id=card_id),
                            10_000_000)
    assert len(open_bills) >= day_payments, f"only {len(open_bills)} open bills for {day_payments} payments"
    for i, (bill_id, hh) in enumerate(open_bills[:day_payments]):
        payments.pay_bills(factory, till, key=f"today-{i}", household_id=hh, bill_ids=[bill_id],
                           method=PaymentMethod.CARD, card_id=cards[hh], language="zh_Hans")
    if engine.dialect.name == "postgresql":  # what autovacuum does minutes after the bulk write; a kiosk's
        with engine.connect() as conn:       # SQLite file is never analysed, so neither is the bench's
            conn.execute(text("ANALYZE"))
            conn.commit()
    return engine, factory, till.site_id


def bench_settlement(prepared: dict[str, tuple], day_payments: int, samples: int) -> dict[str, list[float]]:
    """Each database's settlement of today, run in turns (fresh, year, fresh, year, ...) so that load from other
    work on the machine falls on both alike; the first turn warms the caches and is not counted."""
    today = site_clock.site_today()
    times: dict[str, list[float]] = {label: [] for label in prepared}
    for i in range(samples + 1):
        for label, (_engine, factory, site_id) in prepared.items():
            t0 = time.perf_counter()
            with factory() as s:
                report = settlement.daily_settlement(s, site_id, today)
            if i:
                times[label].append((time.perf_counter() - t0) * 1000)
            assert report.payment_count == day_payments, (report.payment_count, day_payments)
    for engine, _factory, _site in prepared.values():
        engine.dispose()
    return times


def row(name: str, backend: str, stat: str, value: float, base: float, target: str) -> str:
    return f"| {name} | {backend} | {stat} | {value:8.2f} ms | {base:7.2f} ms | {value / base:6.1f}x | {target} |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pg-url", help="admin URL of a PostgreSQL server (default: start a throw-away one)")
    ap.add_argument("--payments", type=int, default=300)
    ap.add_argument("--households", type=int, default=20_000)
    ap.add_argument("--bills-per", type=int, default=100)
    ap.add_argument("--lookups", type=int, default=2_000)
    ap.add_argument("--history", type=int, default=219_000, help="payments in the year behind the settled day")
    ap.add_argument("--day-payments", type=int, default=300, help="payments made on the settled day")
    ap.add_argument("--settlements", type=int, default=50, help="times each day's settlement is run")
    ap.add_argument("--only", default="commit,lookup,settlement", help="which parts to run, comma-separated")
    args = ap.parse_args()
    parts = set(args.only.split(","))

    from contextlib import nullcontext

    from bench.pg_server import temporary_server

    server = nullcontext(args.pg_url) if args.pg_url else temporary_server()
    lines = ["| measure | database | stat | value | baseline | ratio | target |",
             "|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp, server as pg_admin:
        if "commit" in parts:
            urls = {"SQLite": f"sqlite:///{Path(tmp) / 'commit.sqlite3'}",
                    "PostgreSQL": fresh_pg_database(pg_admin, "kiosk_bench_commit")}
            for backend, url in urls.items():
                pay, base = bench_commits(url, args.payments)
                target = "<= 20 ms" if backend == "SQLite" else "<= 30 ms"
                lines.append(row("pay-bills commit (intent + settle)", backend, "p50", pct(pay, 50), pct(base, 50), ""))
                lines.append(row("pay-bills commit (intent + settle)", backend, "p99", pct(pay, 99), pct(base, 99),
                                 target))
                print(f"  {backend}: {len(pay)} payments, mean {statistics.mean(pay):.2f} ms", file=sys.stderr)
        if "lookup" in parts:
            big = {"SQLite": f"sqlite:///{Path(tmp) / 'big.sqlite3'}",
                   "PostgreSQL": fresh_pg_database(pg_admin, "kiosk_bench_lookup")}
            total_bills = args.households * args.bills_per
            for backend, url in big.items():
                t0 = time.perf_counter()
                load_big_estate(url, args.households, args.bills_per)
                print(f"  {backend}: loaded {args.households} households / {total_bills} bills in "
                      f"{time.perf_counter() - t0:.0f} s", file=sys.stderr)
                look, base = bench_lookup(url, args.households, args.lookups)
                lines.append(row(f"outstanding bills ({args.households:,} households, {total_bills:,} bills)",
                                 backend, "p95", pct(look, 95), pct(base, 95), "<= 10 ms"))
        if "settlement" in parts:
            for backend in ("SQLite", "PostgreSQL"):
                prepared = {}
                for label, history in (("fresh", 0), ("year", args.history)):
                    url = (f"sqlite:///{Path(tmp) / f'settle-{label}.sqlite3'}" if backend == "SQLite"
                           else fresh_pg_database(pg_admin, f"kiosk_bench_settle_{label}"))
                    t0 = time.perf_counter()
                    prepared[label] = prepare_settlement_day(url, history, args.day_payments)
                    print(f"  {backend}: {label} database ({history} payments of history) set up in "
                          f"{time.perf_counter() - t0:.0f} s", file=sys.stderr)
                got = bench_settlement(prepared, args.day_payments, args.settlements)
                name = f"settlement of one day ({args.day_payments} payments), {args.history:,} behind it"
                for stat, q in (("p50", 50), ("p95", 95)):
                    lines.append(row(name, backend, stat, pct(got["year"], q), pct(got["fresh"], q),
                                     "<= 1.2x" if stat == "p50" else ""))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
