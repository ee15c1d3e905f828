"""Database benchmark: pay-bills commit latency and outstanding-bills lookup, SQLite and PostgreSQL.

Run: .venv/bin/python bench/db.py [--pg-url URL] [--payments N] [--households N] [--bills-per N]
Without --pg-url a throw-away PostgreSQL server is started (fsync on). Prints one table; each figure
sits beside a baseline measured in the same run on the same database, and the ratio.
  - commit baseline: a one-row INSERT committed alone (the durability floor of the database);
  - lookup baseline: fetching one household row by primary key.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, select, text  # noqa: E402

from kiosk.demo import estate  # noqa: E402
from kiosk.domain.terms import BillStatus, CardKind, PaymentMethod  # noqa: E402
from kiosk.persistence import schema  # noqa: E402
from kiosk.persistence.chain import ChainBinding  # noqa: E402
from kiosk.persistence.db import make_engine, make_session_factory, unit_of_work  # noqa: E402
from kiosk.persistence.models import Bill, Building, Card, DeviceEvent, Household, Kiosk, Site  # noqa: E402
from kiosk.services import households, payments  # noqa: E402
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


def row(name: str, backend: str, stat: str, value: float, base: float, target: str) -> str:
    return f"| {name} | {backend} | {stat} | {value:8.2f} ms | {base:7.2f} ms | {value / base:6.1f}x | {target} |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pg-url", help="admin URL of a PostgreSQL server (default: start a throw-away one)")
    ap.add_argument("--payments", type=int, default=300)
    ap.add_argument("--households", type=int, default=20_000)
    ap.add_argument("--bills-per", type=int, default=100)
    ap.add_argument("--lookups", type=int, default=2_000)
    args = ap.parse_args()

    from contextlib import nullcontext

    from bench.pg_server import temporary_server

    server = nullcontext(args.pg_url) if args.pg_url else temporary_server()
    lines = ["| measure | database | stat | value | baseline | ratio | target |",
             "|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp, server as pg_admin:
        urls = {"SQLite": f"sqlite:///{Path(tmp) / 'commit.sqlite3'}",
                "PostgreSQL": fresh_pg_database(pg_admin, "kiosk_bench_commit")}
        for backend, url in urls.items():
            pay, base = bench_commits(url, args.payments)
            target = "<= 20 ms" if backend == "SQLite" else "<= 30 ms"
            lines.append(row("pay-bills commit (intent + settle)", backend, "p50", pct(pay, 50), pct(base, 50), ""))
            lines.append(row("pay-bills commit (intent + settle)", backend, "p99", pct(pay, 99), pct(base, 99), target))
            print(f"  {backend}: {len(pay)} payments, mean {statistics.mean(pay):.2f} ms", file=sys.stderr)
        big = {"SQLite": f"sqlite:///{Path(tmp) / 'big.sqlite3'}",
               "PostgreSQL": fresh_pg_database(pg_admin, "kiosk_bench_lookup")}
        total_bills = args.households * args.bills_per
        for backend, url in big.items():
            t0 = time.perf_counter()
            load_big_estate(url, args.households, args.bills_per)
            print(f"  {backend}: loaded {args.households} households / {total_bills} bills in "
                  f"{time.perf_counter() - t0:.0f} s", file=sys.stderr)
            look, base = bench_lookup(url, args.households, args.lookups)
            lines.append(row(f"outstanding bills ({args.households:,} households, {total_bills:,} bills)", backend,
                             "p95", pct(look, 95), pct(base, 95), "<= 10 ms"))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
